#include <gtest/gtest.h>

#include "core/remoteconfig/Restrictions.h"

namespace opampsup::remoteconfig {
namespace {

using config::RemoteConfigRestrictions;

std::optional<std::string> check(const RemoteConfigRestrictions& rules, const std::string& yaml,
                                 const std::string& name = "") {
    return checkRestrictions(rules, {{name, yaml}});
}

// A rule set with every provider allowed, to test one rule at a time.
RemoteConfigRestrictions providersOpen() {
    RemoteConfigRestrictions rules;
    rules.allowedConfigProviders = {"env", "file"};
    return rules;
}

TEST(GlobMatch, StarsAndQuestionMarks) {
    EXPECT_TRUE(globMatch("*", ""));
    EXPECT_TRUE(globMatch("file*", "filelog"));
    EXPECT_TRUE(globMatch("file*", "file"));
    EXPECT_FALSE(globMatch("file*", "otlpfile"));
    EXPECT_TRUE(globMatch("*.example.com", "a.b.example.com"));
    EXPECT_FALSE(globMatch("*.example.com", "example.com"));
    EXPECT_TRUE(globMatch("h?st", "host"));
    EXPECT_FALSE(globMatch("h?st", "hst"));
    EXPECT_TRUE(globMatch("a*b*c", "axxbyyc"));
    EXPECT_FALSE(globMatch("a*b*c", "axxbyy"));
    EXPECT_TRUE(globMatch("otlp", "otlp"));
    EXPECT_FALSE(globMatch("otlp", "otlphttp"));
}

TEST(Restrictions, AConfigWithinTheDefaultsPasses) {
    EXPECT_EQ(check({},
                    "receivers:\n  otlp:\n    protocols:\n      grpc: {}\n"
                    "exporters:\n  debug: {}\n"),
              std::nullopt);
}

TEST(Restrictions, ProvidersAreDeniedByDefault) {
    auto v = check({}, "exporters:\n  otlp:\n    headers:\n      key: ${env:API_KEY}\n", "a.yaml");
    ASSERT_TRUE(v);
    EXPECT_EQ(*v,
              "remote_config_restrictions.allowed_config_providers: remote config file \"a.yaml\": "
              "exporters::otlp::headers::key uses the \"env\" config provider "
              "(\"${env:API_KEY}\"); allowed providers: (none)");
}

TEST(Restrictions, ABareReferenceIsTheEnvProviderAndAnEscapeIsNot) {
    auto bare = check({}, "processors:\n  attributes:\n    value: \"x${HOME}\"\n");
    ASSERT_TRUE(bare);
    EXPECT_NE(bare->find("uses the \"env\" config provider"), std::string::npos) << *bare;
    EXPECT_EQ(check({}, "processors:\n  attributes:\n    value: \"$${env:HOME}\"\n"), std::nullopt);
    EXPECT_EQ(check({}, "processors:\n  attributes:\n    value: \"cost: 5$\"\n"), std::nullopt);
}

TEST(Restrictions, AnAllowedProviderPassesAndOthersStillFail) {
    RemoteConfigRestrictions rules;
    rules.allowedConfigProviders = {"env"};
    EXPECT_EQ(check(rules, "exporters:\n  otlp:\n    endpoint: ${env:EP}\n"), std::nullopt);
    auto v = check(rules, "exporters:\n  otlp:\n    endpoint: ${file:/etc/shadow}\n");
    ASSERT_TRUE(v);
    EXPECT_NE(v->find("uses the \"file\" config provider"), std::string::npos) << *v;
    EXPECT_NE(v->find("allowed providers: env"), std::string::npos) << *v;
}

TEST(Restrictions, ADeniedComponentTypeIsNamed) {
    RemoteConfigRestrictions rules;
    rules.components["receivers"].deny = {"exec*", "hostmetrics"};
    auto v = check(rules, "receivers:\n  otlp: {}\n  execcmd/run: {}\n");
    ASSERT_TRUE(v);
    EXPECT_EQ(*v,
              "remote_config_restrictions.components.receivers.deny: remote config file \"\": "
              "receiver \"execcmd/run\" has the type \"execcmd\", which is denied (\"exec*\")");
}

TEST(Restrictions, AnAllowListRefusesEverythingElseAndDenyWins) {
    RemoteConfigRestrictions rules;
    rules.components["exporters"].allow = {"otlp*", "debug"};
    rules.components["exporters"].deny = {"otlphttp"};
    EXPECT_EQ(check(rules, "exporters:\n  otlp/a: {}\n  debug: {}\n"), std::nullopt);
    auto other = check(rules, "exporters:\n  file/out:\n    path: /tmp/x\n");
    ASSERT_TRUE(other);
    EXPECT_EQ(*other,
              "remote_config_restrictions.components.exporters.allow: remote config file \"\": "
              "exporter \"file/out\" has the type \"file\", which matches none of otlp*, debug");
    auto denied = check(rules, "exporters:\n  otlphttp: {}\n");
    ASSERT_TRUE(denied);
    EXPECT_NE(denied->find("components.exporters.deny"), std::string::npos) << *denied;
}

TEST(Restrictions, RulesOfOneKindLeaveTheOthersAlone) {
    RemoteConfigRestrictions rules;
    rules.components["receivers"].allow = {"otlp"};
    EXPECT_EQ(check(rules, "receivers:\n  otlp: {}\nexporters:\n  file: {}\n"), std::nullopt);
}

// Found by server_to_agent_fuzz: a rule for a kind the config does not have made yaml-cpp
// throw InvalidNode out of the check (and out of the supervisor's loop).
TEST(Restrictions, ARuleForAKindTheConfigLacksIsKept) {
    RemoteConfigRestrictions rules;
    rules.components["receivers"].allow = {"otlp"};
    rules.components["connectors"].deny = {"*"};
    EXPECT_EQ(check(rules, "processors:\n  batch: {}\n"), std::nullopt);
    EXPECT_EQ(check(rules, "exporters:\n  debug: {}\nreceivers: ~\n"), std::nullopt);
    auto denied = check(rules, "connectors:\n  forward: {}\n");
    ASSERT_TRUE(denied);
    EXPECT_NE(denied->find("components.connectors.deny"), std::string::npos) << *denied;
}

TEST(Restrictions, PathsMustLieUnderAnAllowedPrefix) {
    RemoteConfigRestrictions rules = providersOpen();
    rules.allowedPathPrefixes = {"/var/log", "/tmp/otel/"};
    EXPECT_EQ(check(rules,
                    "receivers:\n  filelog:\n    include: [/var/log/*.log, /tmp/otel/a]\n"
                    "exporters:\n  file:\n    path: /var/log/out.json\n"),
              std::nullopt);
    auto v = check(rules, "exporters:\n  file:\n    path: /etc/passwd\n");
    ASSERT_TRUE(v);
    EXPECT_EQ(*v,
              "remote_config_restrictions.allowed_path_prefixes: remote config file \"\": "
              "exporters::file::path is \"/etc/passwd\", which is not under /var/log, "
              "/tmp/otel/");
}

TEST(Restrictions, PathTricksDoNotEscapeThePrefix) {
    RemoteConfigRestrictions rules;
    rules.allowedPathPrefixes = {"/var/log"};
    auto dots = check(rules, "receivers:\n  filelog:\n    include: [/var/log/../../etc/shadow]\n");
    ASSERT_TRUE(dots);
    EXPECT_NE(dots->find("receivers::filelog::include[0]"), std::string::npos) << *dots;
    EXPECT_TRUE(check(rules, "receivers:\n  filelog:\n    include: [/var/logs/x]\n"));
    EXPECT_TRUE(check(rules, "receivers:\n  filelog:\n    include: [relative/x.log]\n"));
    EXPECT_TRUE(check(rules, "exporters:\n  otlp:\n    tls:\n      ca_file: /etc/ssl/ca.pem\n"));
    EXPECT_TRUE(check(rules, "extensions:\n  file_storage:\n    directory: /root\n"));
}

TEST(Restrictions, NonFilePathsAreNotCheckedAsPaths) {
    RemoteConfigRestrictions rules;
    rules.allowedPathPrefixes = {"/var/log"};
    EXPECT_EQ(check(rules,
                    "extensions:\n  health_check:\n    path: /health\n"
                    "receivers:\n  otlp:\n    protocols:\n      http:\n"
                    "        traces_url_path: /v1/traces\n"
                    "service:\n  telemetry:\n    logs:\n      output_paths: [stdout]\n"),
              std::nullopt);
    EXPECT_TRUE(check(rules, "service:\n  telemetry:\n    logs:\n      output_paths: [/etc/x]\n"));
}

TEST(Restrictions, ExportersSendOnlyToAllowedHosts) {
    RemoteConfigRestrictions rules;
    rules.allowedExporterEndpoints = {"*.example.com", "collector.internal:4317", "[::1]:4318"};
    EXPECT_EQ(check(rules,
                    "exporters:\n"
                    "  otlp:\n    endpoint: ingest.EXAMPLE.com:4317\n"
                    "  otlphttp:\n    endpoint: https://user@a.example.com/v1\n"
                    "    traces_endpoint: https://collector.internal:4317/x\n"
                    "  otlphttp/v6:\n    endpoint: http://[::1]:4318\n"),
              std::nullopt);
    auto port = check(rules, "exporters:\n  otlp:\n    endpoint: collector.internal:9999\n");
    ASSERT_TRUE(port);
    EXPECT_EQ(*port,
              "remote_config_restrictions.allowed_exporter_endpoints: remote config file \"\": "
              "exporters::otlp::endpoint sends to \"collector.internal:9999\", which matches none "
              "of *.example.com, collector.internal:4317, [::1]:4318");
    auto list = check(rules, "exporters:\n  kafka:\n    endpoints: [a.example.com, evil.org]\n");
    ASSERT_TRUE(list);
    EXPECT_NE(list->find("exporters::kafka::endpoints[1]"), std::string::npos) << *list;
    EXPECT_TRUE(check(rules, "exporters:\n  otlphttp:\n    logs_endpoint: http://evil.org\n"));
    // A receiver's endpoint is where it listens: not an exporter destination.
    EXPECT_EQ(check(rules,
                    "receivers:\n  otlp:\n    protocols:\n      grpc:\n"
                    "        endpoint: 0.0.0.0:4317\n"),
              std::nullopt);
}

TEST(Restrictions, SelfReferringAndExplodingAliasesAreRefusedNotWalkedForever) {
    auto cycle = check({}, "receivers: &a\n  loop: [*a]\n");
    ASSERT_TRUE(cycle);
    EXPECT_NE(cycle->find("nests deeper than 100 levels"), std::string::npos) << *cycle;
    std::string laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
    char previous = 'a';
    for (char name = 'b'; name <= 'h'; ++name) {
        laughs += std::string(1, name) + ": &" + name + " [";
        for (int i = 0; i < 10; ++i) {
            laughs += std::string(i ? ", *" : "*") + previous;
        }
        laughs += "]\n";
        previous = name;
    }
    auto exploding = check({}, laughs);
    ASSERT_TRUE(exploding);
    EXPECT_NE(exploding->find("expands to more than 1000000 values"), std::string::npos)
        << *exploding;
}

TEST(Restrictions, AMergeKeyCannotSmuggleInADeniedComponent) {
    RemoteConfigRestrictions rules;
    rules.components["exporters"].deny = {"file"};
    auto v = check(rules, "base: &base\n  file: {path: /tmp/x}\nexporters:\n  <<: *base\n");
    ASSERT_TRUE(v);
    EXPECT_NE(v->find("uses a YAML merge key (<<)"), std::string::npos) << *v;
}

TEST(Restrictions, SizeCountsEveryFile) {
    RemoteConfigRestrictions rules;
    rules.maxConfigBytes = 20;
    EXPECT_EQ(checkRestrictions(rules, {{"a", "0123456789"}, {"b", "0123456789"}}), std::nullopt);
    auto v = checkRestrictions(rules, {{"a", "0123456789"}, {"b", "0123456789X"}});
    ASSERT_TRUE(v);
    EXPECT_EQ(*v,
              "remote_config_restrictions.max_config_bytes: the remote config is 21 bytes; "
              "at most 20 are allowed");
}

TEST(Restrictions, EveryFileIsCheckedAndBrokenYamlIsLeftToTheComposer) {
    RemoteConfigRestrictions rules;
    rules.components["receivers"].deny = {"exec"};
    auto v = checkRestrictions(
        rules, {{"a.yaml", "receivers: [unclosed"}, {"b.yaml", "receivers:\n  exec: {}\n"}});
    ASSERT_TRUE(v);
    EXPECT_NE(v->find("remote config file \"b.yaml\""), std::string::npos) << *v;
}

}  // namespace
}  // namespace opampsup::remoteconfig
