#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/effective/ConfigComposer.h"
#include "core/effective/YamlMerge.h"
#include "support/TempDir.h"

namespace opampsup::effective {
namespace {

using ::testing::HasSubstr;

YAML::Node merged(const std::string& a, const std::string& b) {
    return mergeConfigs(YAML::Load(a), YAML::Load(b));
}

TEST(YamlMerge, MapsMergeKeyByKeyLaterWins) {
    YAML::Node m = merged("a: {x: 1, y: 2}\nb: 1\n", "a: {y: 3, z: 4}\nc: 5\n");
    EXPECT_EQ(m["a"]["x"].as<int>(), 1);
    EXPECT_EQ(m["a"]["y"].as<int>(), 3);
    EXPECT_EQ(m["a"]["z"].as<int>(), 4);
    EXPECT_EQ(m["b"].as<int>(), 1);
    EXPECT_EQ(m["c"].as<int>(), 5);
}

TEST(YamlMerge, ListsAreReplacedButServiceExtensionsAreJoined) {
    YAML::Node m = merged(
        "service: {extensions: [health_check, opamp], pipelines: {traces: "
        "{receivers: [a, b]}}}\n",
        "service: {extensions: [opamp, pprof], pipelines: {traces: "
        "{receivers: [c]}}}\n");
    ASSERT_EQ(m["service"]["extensions"].size(), 3U);
    EXPECT_EQ(m["service"]["extensions"][0].as<std::string>(), "health_check");
    EXPECT_EQ(m["service"]["extensions"][1].as<std::string>(), "opamp");
    EXPECT_EQ(m["service"]["extensions"][2].as<std::string>(), "pprof");
    ASSERT_EQ(m["service"]["pipelines"]["traces"]["receivers"].size(), 1U);
    EXPECT_EQ(m["service"]["pipelines"]["traces"]["receivers"][0].as<std::string>(), "c");
}

TEST(YamlMerge, InputsAreNotModified) {
    YAML::Node a = YAML::Load("a: {x: 1}");
    YAML::Node b = YAML::Load("a: {x: 2}");
    mergeConfigs(a, b);
    EXPECT_EQ(a["a"]["x"].as<int>(), 1);
}

TEST(ConfigComposer, SpecialEntriesGoWhereTheGoSupervisorPutsThem) {
    EXPECT_EQ(withSpecialEntries({"a.yaml"}),
              (std::vector<std::string>{"$OWN_TELEMETRY_CONFIG", "a.yaml",
                                        "$OPAMP_EXTENSION_CONFIG", "$REMOTE_CONFIG"}));
    EXPECT_EQ(withSpecialEntries({"$REMOTE_CONFIG", "a.yaml", "$OWN_TELEMETRY_CONFIG"}),
              (std::vector<std::string>{"$REMOTE_CONFIG", "a.yaml", "$OWN_TELEMETRY_CONFIG",
                                        "$OPAMP_EXTENSION_CONFIG"}));
}

OpampExtensionSettings extension() {
    OpampExtensionSettings s;
    s.instanceUid = "018fe0c4-1d4a-7b5e-9c3f-2a1b3c4d5e6f";
    s.endpoint = "ws://127.0.0.1:4321/v1/opamp";
    s.authorization = "Secret abc";
    s.supervisorPid = 42;
    return s;
}

TEST(ConfigComposer, LocalFilesPlusTheInjectedExtension) {
    testing::TempDir dir;
    auto local = dir.write("local.yaml", R"(receivers: {otlp: {}}
exporters: {debug: {}}
service:
  extensions: [health_check]
  pipelines: {traces: {receivers: [otlp], exporters: [debug]}}
extensions: {health_check: {}}
)");
    ComposeInput input;
    input.configFiles = {local.string()};
    input.opampExtensionYaml = opampExtensionYaml(extension());
    ComposeResult r = composeEffectiveConfig(input);
    ASSERT_FALSE(r.error) << *r.error;
    EXPECT_TRUE(r.warnings.empty());
    YAML::Node c = YAML::Load(r.yaml);
    EXPECT_EQ(c["extensions"]["opamp"]["instance_uid"].as<std::string>(),
              "018fe0c4-1d4a-7b5e-9c3f-2a1b3c4d5e6f");
    EXPECT_EQ(c["extensions"]["opamp"]["server"]["ws"]["endpoint"].as<std::string>(),
              "ws://127.0.0.1:4321/v1/opamp");
    EXPECT_EQ(
        c["extensions"]["opamp"]["server"]["ws"]["headers"]["Authorization"].as<std::string>(),
        "Secret abc");
    EXPECT_EQ(c["extensions"]["opamp"]["ppid"].as<long>(), 42);
    EXPECT_TRUE(c["extensions"]["health_check"].IsDefined());
    ASSERT_EQ(c["service"]["extensions"].size(), 2U);
    EXPECT_EQ(c["service"]["extensions"][1].as<std::string>(), "opamp");
    EXPECT_EQ(c["service"]["pipelines"]["traces"]["receivers"][0].as<std::string>(), "otlp");
    // No remote config capability: no nop pipeline was added.
    EXPECT_FALSE(c["receivers"]["nop"].IsDefined());
}

TEST(ConfigComposer, NopPipelineWhenWaitingForARemoteConfig) {
    ComposeInput input;
    input.opampExtensionYaml = opampExtensionYaml(extension());
    input.acceptsRemoteConfig = true;
    YAML::Node c = YAML::Load(composeEffectiveConfig(input).yaml);
    EXPECT_TRUE(c["receivers"]["nop"].IsDefined());
    EXPECT_TRUE(c["service"]["pipelines"]["traces/nop"].IsDefined());

    input.needsNopPipeline = false;  // the collector allows no pipelines
    c = YAML::Load(composeEffectiveConfig(input).yaml);
    EXPECT_FALSE(c["receivers"]["nop"].IsDefined());
}

TEST(ConfigComposer, RemoteFilesInNameOrderUnnamedLastAndTheInstanceIdKept) {
    ComposeInput input;
    input.opampExtensionYaml = opampExtensionYaml(extension());
    input.acceptsRemoteConfig = true;
    input.instanceUid = "018fe0c4-1d4a-7b5e-9c3f-2a1b3c4d5e6f";
    input.remoteConfig = std::map<std::string, std::string>{
        {"", "value: unnamed\n"},
        {"b.yaml", "value: b\nb: 1\n"},
        {"a.yaml",
         "value: a\na: 1\nservice: {telemetry: {resource: {attributes: [{name: "
         "service.instance.id, value: spoofed}, {name: team, value: blue}]}}}\n"}};
    ComposeResult r = composeEffectiveConfig(input);
    ASSERT_FALSE(r.error);
    YAML::Node c = YAML::Load(r.yaml);
    EXPECT_EQ(c["value"].as<std::string>(), "unnamed");
    EXPECT_EQ(c["a"].as<int>(), 1);
    EXPECT_EQ(c["b"].as<int>(), 1);
    YAML::Node attributes = c["service"]["telemetry"]["resource"]["attributes"];
    ASSERT_EQ(attributes.size(), 2U);
    EXPECT_EQ(attributes[0]["value"].as<std::string>(), "018fe0c4-1d4a-7b5e-9c3f-2a1b3c4d5e6f");
    EXPECT_EQ(attributes[1]["value"].as<std::string>(), "blue");
    EXPECT_FALSE(c["receivers"]["nop"].IsDefined());
}

// Found by config_composer_fuzz: a scalar where the instance ID goes made yaml-cpp throw
// BadSubscript out of the composer. It is replaced, as merging a map over it would.
TEST(ConfigComposer, TheInstanceIdGoesInWhateverTheRemoteConfigPutsOnItsWay) {
    ComposeInput input;
    input.opampExtensionYaml = opampExtensionYaml(extension());
    input.acceptsRemoteConfig = true;
    input.instanceUid = "018fe0c4-1d4a-7b5e-9c3f-2a1b3c4d5e6f";
    for (const char* remote :
         {"service: scalar\n", "service:\n  telemetry: 42\n", "service: [a, b]\n",
          "service:\n  telemetry:\n    resource: text\n", "service:\n  telemetry: ~\n"}) {
        input.remoteConfig = std::map<std::string, std::string>{{"", remote}};
        ComposeResult r = composeEffectiveConfig(input);
        ASSERT_FALSE(r.error) << remote;
        YAML::Node attributes =
            YAML::Load(r.yaml)["service"]["telemetry"]["resource"]["attributes"];
        ASSERT_TRUE(attributes.IsSequence()) << remote << r.yaml;
        ASSERT_EQ(attributes.size(), 1U) << remote << r.yaml;
        EXPECT_EQ(attributes[0]["value"].as<std::string>(), input.instanceUid) << remote;
    }
}

// Found by config_composer_fuzz: a YAML alias that refers to itself sent the reference
// substitution into endless recursion (a stack overflow). Remote files are also refused by
// remote_config_restrictions first; local files are not, so the composer refuses them too.
TEST(ConfigComposer, ADocumentThatRefersToItselfIsRefusedNotWalkedForever) {
    testing::TempDir dir;
    const std::string selfReferring = "x: &a {k: {<<: *a, k: 3}}\n";
    auto local = dir.write("local.yaml", selfReferring);
    ComposeInput input;
    input.configFiles = {local.string()};
    input.opampExtensionYaml = opampExtensionYaml(extension());
    ComposeResult r = composeEffectiveConfig(input);
    ASSERT_FALSE(r.error);
    ASSERT_EQ(r.warnings.size(), 1U);
    EXPECT_THAT(r.warnings[0], HasSubstr("refers to itself"));
    EXPECT_FALSE(YAML::Load(r.yaml)["x"].IsDefined());

    input.configFiles.clear();
    input.remoteConfig = std::map<std::string, std::string>{{"", selfReferring}};
    r = composeEffectiveConfig(input);
    ASSERT_TRUE(r.error);
    EXPECT_THAT(*r.error, HasSubstr("the remote config is not valid YAML: it nests deeper"));

    // Aliases that stand for a billion values are refused the same way.
    std::string laughs = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
    for (int i = 1; i < 9; ++i) {
        laughs += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
        for (int j = 0; j < 10; ++j) {
            laughs += (j == 0 ? "*a" : ", *a") + std::to_string(i - 1);
        }
        laughs += "]\n";
    }
    input.remoteConfig = std::map<std::string, std::string>{{"", laughs}};
    r = composeEffectiveConfig(input);
    ASSERT_TRUE(r.error);
    EXPECT_THAT(*r.error, HasSubstr("more than 1000000 values"));
}

TEST(ConfigComposer, BadRemoteConfigIsAnErrorNamingIt) {
    ComposeInput input;
    input.opampExtensionYaml = opampExtensionYaml(extension());
    input.remoteConfig = std::map<std::string, std::string>{{"x.yaml", "a: [1, 2\n"}};
    ComposeResult r = composeEffectiveConfig(input);
    ASSERT_TRUE(r.error);
    EXPECT_THAT(*r.error, HasSubstr("remote config file \"x.yaml\" is not valid YAML: line"));
}

TEST(ConfigComposer, UnreadableOrBrokenLocalFilesAreLeftOutWithAWarning) {
    testing::TempDir dir;
    auto broken = dir.write("broken.yaml", "a: [\n");
    auto good = dir.write("good.yaml", "good: true\n");
    ComposeInput input;
    input.configFiles = {(dir.path() / "missing.yaml").string(), broken.string(), good.string()};
    input.opampExtensionYaml = opampExtensionYaml(extension());
    ComposeResult r = composeEffectiveConfig(input);
    ASSERT_FALSE(r.error);
    ASSERT_EQ(r.warnings.size(), 2U);
    EXPECT_THAT(r.warnings[0], HasSubstr("cannot read"));
    EXPECT_THAT(r.warnings[1], HasSubstr("broken.yaml is not valid YAML"));
    EXPECT_TRUE(YAML::Load(r.yaml)["good"].as<bool>());
}

TEST(YamlMerge, ResourceAttributesMergeByName) {
    YAML::Node base = YAML::Load(
        "service: {telemetry: {resource: {attributes: [{name: a, value: '1'}, {name: b, value: "
        "'2'}]}}}");
    YAML::Node overlay = YAML::Load(
        "service: {telemetry: {resource: {attributes: [{name: b, value: '20'}, {name: c, value: "
        "'3'}]}}}");
    YAML::Node attributes =
        mergeConfigs(base, overlay)["service"]["telemetry"]["resource"]["attributes"];
    ASSERT_EQ(attributes.size(), 3U);
    EXPECT_EQ(attributes[0]["name"].as<std::string>(), "a");
    EXPECT_EQ(attributes[1]["name"].as<std::string>(), "b");
    EXPECT_EQ(attributes[1]["value"].as<std::string>(), "20");  // replaced in place
    EXPECT_EQ(attributes[2]["name"].as<std::string>(), "c");
    // Any other list under resource is still replaced whole.
    YAML::Node detectors =
        mergeConfigs(YAML::Load("service: {telemetry: {resource: {detectors: [a, b]}}}"),
                     YAML::Load("service: {telemetry: {resource: {detectors: [c]}}}"));
    EXPECT_EQ(detectors["service"]["telemetry"]["resource"]["detectors"].size(), 1U);
}

TEST(ConfigComposer, TheDescriptionBecomesTheCollectorsResourceWithJsonLogs) {
    ComposeInput input;
    input.opampExtensionYaml = opampExtensionYaml(extension());
    input.resourceAttributes = {{"service.name", "otelcol-contrib"},
                                {"host.name", "web-1"},
                                {"service.instance.id", "018fe0c4-1d4a-7b5e-9c3f-2a1b3c4d5e6f"}};
    YAML::Node c = YAML::Load(composeEffectiveConfig(input).yaml);
    YAML::Node logs = c["service"]["telemetry"]["logs"];
    EXPECT_EQ(logs["encoding"].as<std::string>(), "json");
    EXPECT_EQ(logs["output_paths"][0].as<std::string>(), "stdout");
    EXPECT_EQ(logs["error_output_paths"][0].as<std::string>(), "stderr");
    YAML::Node attributes = c["service"]["telemetry"]["resource"]["attributes"];
    ASSERT_EQ(attributes.size(), 3U);  // the extension's service.instance.id merged by name
    EXPECT_EQ(attributes[0]["name"].as<std::string>(), "host.name");
    EXPECT_EQ(attributes[1]["name"].as<std::string>(), "service.instance.id");
    EXPECT_EQ(attributes[2]["name"].as<std::string>(), "service.name");
}

TEST(ConfigComposer, ALocalFileOverridesOneResourceAttributeAndTheRemoteReplacesThemAll) {
    testing::TempDir dir;
    auto local = dir.write("local.yaml",
                           "service:\n  telemetry:\n    resource:\n      schema_url: "
                           "https://opentelemetry.io/schemas/1.26.0\n      attributes:\n"
                           "        - {name: host.name, value: renamed}\n");
    ComposeInput input;
    input.configFiles = {local.string()};
    input.opampExtensionYaml = opampExtensionYaml(extension());
    input.instanceUid = "018fe0c4-1d4a-7b5e-9c3f-2a1b3c4d5e6f";
    input.resourceAttributes = {{"host.name", "web-1"}, {"os.type", "linux"}};
    YAML::Node c = YAML::Load(composeEffectiveConfig(input).yaml);
    YAML::Node attributes = c["service"]["telemetry"]["resource"]["attributes"];
    ASSERT_EQ(attributes.size(), 3U);
    EXPECT_EQ(attributes[0]["value"].as<std::string>(), "renamed");
    EXPECT_EQ(attributes[1]["name"].as<std::string>(), "os.type");

    input.remoteConfig = std::map<std::string, std::string>{
        {"",
         "service:\n  telemetry:\n    resource:\n      attributes:\n"
         "        - {name: team, value: blue}\n"}};
    c = YAML::Load(composeEffectiveConfig(input).yaml);
    YAML::Node resource = c["service"]["telemetry"]["resource"];
    EXPECT_EQ(resource["schema_url"].as<std::string>(), "https://opentelemetry.io/schemas/1.26.0");
    attributes = resource["attributes"];
    ASSERT_EQ(attributes.size(), 2U) << c;
    EXPECT_EQ(attributes[0]["name"].as<std::string>(), "team");
    EXPECT_EQ(attributes[1]["name"].as<std::string>(), "service.instance.id");
    EXPECT_EQ(attributes[1]["value"].as<std::string>(), "018fe0c4-1d4a-7b5e-9c3f-2a1b3c4d5e6f");
}

}  // namespace
}  // namespace opampsup::effective
