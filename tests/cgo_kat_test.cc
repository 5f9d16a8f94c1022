// `relaycell kat cgo`: a vector file made here (no Tor data: ET with a zero POLYVAL key is
// AES-128, FIPS-197's example), its corruptions (exit 1), malformed files (exit 2, the file
// and field named), and, when RELAYCELL_CGO_VECTORS names a directory, every *.json file there
// (Tor's and Arti's vectors, converted, kept outside the repository).
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

struct KatRun {
  int status = -1;     // the exit status, or -1
  std::string output;  // stdout and stderr
};

KatRun Kat(const std::vector<std::string>& files) {
  std::string command = std::string(RELAYCELL_BINARY) + " kat cgo";
  for (const std::string& f : files) command += " '" + f + "'";
  command += " 2>&1";
  KatRun run;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return run;
  char buf[512];
  while (std::fgets(buf, sizeof buf, pipe) != nullptr) run.output += buf;
  const int raw = pclose(pipe);
  run.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return run;
}

class CgoKat : public testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        fs::temp_directory_path() / ("relaycell_cgo_kat_" + std::to_string(::getpid()) + "_" +
                                     testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& text) {
    const fs::path path = dir_ / name;
    std::ofstream(path) << text;
    return path.string();
  }

  fs::path dir_;
};

const std::string kKey = "000102030405060708090a0b0c0d0e0f" + std::string(32, '0');
const std::string kTweak(2 * 510, 'a');
const std::string kPlain = "00112233445566778899aabbccddeeff";
const std::string kCipher = "69c4e0d86a7b0430d8cdb78070b4c55a";

std::string EtFile(const std::string& encrypt_expect, const std::string& extra = "") {
  return R"({"suite": "cgo", "source": "FIPS-197 C.1 through ET with KU = 0", "et": [)"
         R"({"encrypt": true, "keys": ")" +
         kKey + R"(", "tweak": ")" + kTweak + R"(", "block": ")" + kPlain + R"(", "expect": ")" +
         encrypt_expect +
         R"("},)"
         R"({"encrypt": false, "keys": ")" +
         kKey + R"(", "tweak": ")" + kTweak + R"(", "block": ")" + kCipher + R"(", "expect": ")" +
         kPlain + R"("}])" + extra + "}";
}

TEST_F(CgoKat, SelfMadeFilePasses) {
  const KatRun run = Kat({Write("ok.json", EtFile(kCipher, R"(, "relay": [], "comment": "x")"))});
  EXPECT_EQ(run.status, 0) << run.output;
  EXPECT_NE(run.output.find("2 vectors, 2 ok, 0 bad"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("\n2 passed, 0 failed\n"), std::string::npos) << run.output;
}

TEST_F(CgoKat, WrongAnswerFailsWithExitOne) {
  std::string wrong = kCipher;
  wrong[0] = '7';
  const KatRun run = Kat({Write("bad.json", EtFile(wrong))});
  EXPECT_EQ(run.status, 1) << run.output;
  EXPECT_NE(run.output.find("FAILED et[0]"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("1 passed, 1 failed"), std::string::npos) << run.output;
}

TEST_F(CgoKat, MalformedFilesExitTwoNamingFileAndField) {
  struct Case {
    const char* name;
    std::string text;
    const char* says;  // part of the message
  };
  std::string short_block = EtFile(kCipher);
  short_block.replace(short_block.find(kPlain), kPlain.size(), kPlain.substr(2));
  const std::vector<Case> cases = {
      {"array.json", "[]", "top level is not an object"},
      {"suite.json", R"({"suite": "aez"})", "\"suite\""},
      {"table.json", R"({"suite": "cgo", "uiv": {}})", "\"uiv\" is not an array"},
      {"unknown.json", R"({"suite": "cgo", "relays": []})", "unknown key \"relays\""},
      {"length.json", short_block, "et[0].block: expected 16 bytes, got 15"},
      {"state.json",
       R"({"suite": "cgo", "relay_originate": [{"state": {"k": "00", "n": "00", "tprime": "00"},)"
       R"( "cmd": 3, "msg": "", "new_state": {}, "t_out": "", "msg_out": ""}]})",
       "relay_originate[0]"},
      {"cmd.json", R"({"suite": "cgo", "relay": [{"inbound": true, "cmd": 300}]})", "relay[0].cmd"},
      {"hop.json", R"({"suite": "cgo", "client_originate": [{"hops": [], "cmd": 3}]})",
       "client_originate[0]"},
      {"json.json", "{\"suite\": ", "not valid JSON"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string path = Write(c.name, c.text);
    const KatRun run = Kat({path});
    EXPECT_EQ(run.status, 2) << run.output;
    EXPECT_NE(run.output.find(path), std::string::npos) << run.output;
    EXPECT_NE(run.output.find(c.says), std::string::npos) << run.output;
  }
  // A malformed file among good ones: the good ones still run, the exit is 2.
  const KatRun mixed = Kat({Write("good.json", EtFile(kCipher)), Write("bad.json", "[]")});
  EXPECT_EQ(mixed.status, 2) << mixed.output;
  EXPECT_NE(mixed.output.find("2 passed, 0 failed"), std::string::npos) << mixed.output;
}

TEST(CgoKatVectors, EveryFileInRelaycellCgoVectors) {
  const char* dir = std::getenv("RELAYCELL_CGO_VECTORS");
  if (dir == nullptr || *dir == 0) GTEST_SKIP() << "RELAYCELL_CGO_VECTORS is not set";
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".json") files.push_back(entry.path().string());
  }
  if (files.empty()) GTEST_SKIP() << "no *.json in " << dir;
  const KatRun run = Kat(files);
  EXPECT_EQ(run.status, 0) << run.output;
  EXPECT_NE(run.output.find(" passed, 0 failed\n"), std::string::npos) << run.output;
  std::printf("%s", run.output.c_str());
}

}  // namespace
