#include <map>
#include <stdexcept>

#include <gtest/gtest.h>

#include "core/config/Expansion.h"

namespace opampsup::config {
namespace {

ExpansionSources fakeSources() {
    static const std::map<std::string, std::string> kEnv{
        {"HOST", "example.com"}, {"PORT", "4320"}, {"EMPTY", ""}, {"NAME_VAR", "HOST"}};
    ExpansionSources s;
    s.env = [](const std::string& name) -> std::optional<std::string> {
        auto it = kEnv.find(name);
        if (it == kEnv.end()) {
            return std::nullopt;
        }
        return it->second;
    };
    s.file = [](const std::string& path) -> std::string {
        if (path == "/secrets/token") {
            return "s3cr3t";
        }
        throw std::runtime_error("cannot read file " + path);
    };
    return s;
}

std::string expand(const std::string& text) {
    return expandReferences(text, fakeSources()).value;
}

TEST(Expansion, ResolvesEnvironmentReferences) {
    EXPECT_EQ(expand("wss://${HOST}:${env:PORT}/v1/opamp"), "wss://example.com:4320/v1/opamp");
    EXPECT_EQ(expand("${PORT}"), "4320");
}

TEST(Expansion, LeavesPlainTextAndBareDollarAlone) {
    EXPECT_EQ(expand("no references"), "no references");
    EXPECT_EQ(expand("$HOST stays"), "$HOST stays");
    EXPECT_EQ(expand("price: 5$"), "price: 5$");
}

TEST(Expansion, DoubleDollarEscapes) {
    EXPECT_EQ(expand("$${HOST}"), "${HOST}");
    EXPECT_EQ(expand("a$$b"), "a$b");
}

TEST(Expansion, UsesFallbackWhenUnsetOrEmpty) {
    EXPECT_EQ(expand("${env:MISSING:-default}"), "default");
    EXPECT_EQ(expand("${env:EMPTY:-default}"), "default");
    EXPECT_EQ(expand("${env:HOST:-default}"), "example.com");
}

TEST(Expansion, UnsetVariableIsEmptyWithAWarning) {
    Expansion e = expandReferences("x${MISSING}y", fakeSources());
    EXPECT_EQ(e.value, "xy");
    ASSERT_EQ(e.warnings.size(), 1U);
    EXPECT_NE(e.warnings[0].find("MISSING is not set"), std::string::npos);
}

TEST(Expansion, ReadsFiles) {
    EXPECT_EQ(expand("Bearer ${file:/secrets/token}"), "Bearer s3cr3t");
}

TEST(Expansion, ResolvesNestedReferences) {
    EXPECT_EQ(expand("${env:${env:NAME_VAR}}"), "example.com");
}

void expectError(const std::string& text, const std::string& fragment) {
    try {
        expandReferences(text, fakeSources());
        FAIL() << "expected an error for " << text;
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
}

TEST(Expansion, ReportsBadReferences) {
    expectError("${vault:secret}", "unsupported reference scheme \"vault\"");
    expectError("${1BAD}", "invalid name");
    expectError("${HOST", "unterminated reference");
    expectError("${file:/nope}", "cannot read file /nope");
    expectError("${file:}", "needs a path");
}

}  // namespace
}  // namespace opampsup::config
