// .regfs/ctl through the real mount, as other users (setresuid in a
// child): one JSON request per write, the reply read back; the identity is
// the writer's, refusals fail the write with the mount's errno and reply
// why.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "registry/history.h"
#include "tests/fs/mount_fixture.h"

namespace regfs::fs::testing {
namespace {

using nlohmann::json;

struct CtlResult {
  int err = -1;  // of the write: 0, or its errno
  json reply;    // as read back after the write
};

class ControlTest : public MountTest {
 protected:
  // Opens .regfs/ctl as `user`, writes `request` in one write(2), reads
  // the whole reply from offset 0.
  CtlResult Request(const User& user, const std::string& request) {
    int pipe_fds[2];
    EXPECT_EQ(::pipe(pipe_fds), 0);
    const std::string ctl = M(".regfs/ctl").string();
    const int err = AsUser(user, [&] {
      ::close(pipe_fds[0]);
      const int fd = ::open(ctl.c_str(), O_RDWR | O_CLOEXEC);
      if (fd < 0) return errno;
      const ssize_t n = ::write(fd, request.data(), request.size());
      const int write_err = n < 0 ? errno : 0;
      char buf[65536];
      off_t off = 0;
      for (ssize_t got; (got = ::pread(fd, buf, sizeof buf, off)) > 0;
           off += got) {
        if (::write(pipe_fds[1], buf, static_cast<size_t>(got)) != got) {
          return 254;
        }
      }
      ::close(fd);
      return write_err;
    });
    ::close(pipe_fds[1]);
    std::string text;
    char buf[4096];
    for (ssize_t got; (got = ::read(pipe_fds[0], buf, sizeof buf)) > 0;) {
      text.append(buf, static_cast<size_t>(got));
    }
    ::close(pipe_fds[0]);
    CtlResult result;
    result.err = err;
    result.reply = json::parse(text, nullptr, /*allow_exceptions=*/false);
    return result;
  }
};

TEST_F(ControlTest, ListedWritableByAllAndReadsAnswerAsTheCaller) {
  struct stat st {};
  ASSERT_EQ(::stat(M(".regfs/ctl").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0666u);
  const RunResult ls = RunAs(kViewer, {"ls", M(".regfs").string()});
  EXPECT_NE(ls.out.find("ctl"), std::string::npos) << ls.out;

  const CtlResult who = Request(kMember, R"({"op":"whoami"})");
  ASSERT_EQ(who.err, 0) << who.reply.dump() << DaemonLog();
  EXPECT_EQ(who.reply["ok"], true);
  EXPECT_EQ(who.reply["result"]["uid"], kMember.uid);
  EXPECT_EQ(who.reply["result"]["role"], "member");

  const CtlResult versions =
      Request(kViewer, R"({"op":"versions","collection":"models"})");
  ASSERT_EQ(versions.err, 0) << versions.reply.dump();
  ASSERT_EQ(versions.reply["result"].size(), 3u);
  EXPECT_EQ(versions.reply["result"][1]["version"], "v1");
  EXPECT_EQ(versions.reply["result"][0]["tags"], json({"baseline"}));
}

TEST_F(ControlTest, AMemberMovesAnAliasAsThemselves) {
  const uint64_t before = LastSeq();
  const CtlResult set = Request(
      kMember,
      R"({"op":"alias_set","collection":"models","alias":"candidate","target":"v2"})");
  ASSERT_EQ(set.err, 0) << set.reply.dump() << DaemonLog();
  EXPECT_EQ(set.reply["result"]["version"], "v2");
  EXPECT_EQ(AliasTarget("models", "candidate"), "v2");
  // The mount shows it at once (its own change invalidates the entry).
  EXPECT_TRUE(WaitForLink(M("models/candidate"), "v2",
                          std::chrono::milliseconds(1000)));
  const auto events = EventsAfter(before);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].uid, kMember.uid);
  EXPECT_EQ(events[0].interface, registry::Interface::kFs);
}

struct RefusalCase {
  const char* what;
  User user;
  const char* request;
  int err;
  const char* code;
};

TEST_F(ControlTest, RefusalsFailTheWriteWithTheMountsErrnoAndSayWhy) {
  const std::vector<RefusalCase> cases = {
      {"member moves a protected alias", kMember,
       R"({"op":"alias_set","collection":"models","alias":"production","target":"v2"})",
       EPERM, "not_permitted"},
      {"viewer moves an alias", kViewer,
       R"({"op":"alias_set","collection":"models","alias":"candidate","target":"v2"})",
       EACCES, "permission_denied"},
      {"member deletes a version", kMember,
       R"({"op":"version_rm","collection":"models","number":0})", EACCES,
       "permission_denied"},
      {"no such version", kMember,
       R"({"op":"alias_set","collection":"models","alias":"x","target":"v9"})",
       ENOENT, "not_found"},
      {"alias exists (CAS)", kMember,
       R"({"op":"alias_set","collection":"models","alias":"candidate","target":"v2","expect":null})",
       EBUSY, "conflict"},
  };
  const uint64_t before = LastSeq();
  for (const RefusalCase& c : cases) {
    SCOPED_TRACE(c.what);
    const CtlResult r = Request(c.user, c.request);
    EXPECT_EQ(r.err, c.err) << r.reply.dump();
    EXPECT_EQ(r.reply["ok"], false);
    EXPECT_EQ(r.reply["errno"], c.err);
    EXPECT_EQ(r.reply["code"], c.code);
    EXPECT_FALSE(r.reply["error"].get<std::string>().empty());
  }
  EXPECT_TRUE(EventsAfter(before).empty());
  EXPECT_EQ(AliasTarget("models", "production"), "v1");
  // Each refusal is logged like every other refusal of the mount.
  EXPECT_NE(DaemonLog().find("refused ctl request 'alias_set' for 20001"),
            std::string::npos)
      << DaemonLog();
}

TEST_F(ControlTest, MalformedRequestsAreEinval) {
  for (const char* request :
       {"not json", "[1,2]", R"({"no":"op"})", R"({"op":"launch"})",
        R"({"op":"alias_set","collection":"models"})",
        R"({"op":"tag_add","collection":"models","number":"one","tag":"x"})"}) {
    SCOPED_TRACE(request);
    const CtlResult r = Request(kMember, request);
    EXPECT_EQ(r.err, EINVAL) << r.reply.dump();
    EXPECT_EQ(r.reply["ok"], false);
    EXPECT_EQ(r.reply["code"], "invalid_argument");
  }
}

TEST_F(ControlTest, IdentityComesFromTheCallerNeverFromTheRequest) {
  const CtlResult who =
      Request(kMember, R"({"op":"whoami","uid":0,"user":"root"})");
  ASSERT_EQ(who.err, 0) << who.reply.dump();
  EXPECT_EQ(who.reply["result"]["uid"], kMember.uid);
  EXPECT_EQ(who.reply["result"]["role"], "member");

  // A viewer claiming root stays a viewer.
  const CtlResult forged = Request(
      kViewer,
      R"({"op":"alias_set","collection":"models","alias":"production","target":"v2","uid":0,"who":{"uid":0}})");
  EXPECT_EQ(forged.err, EACCES) << forged.reply.dump();
  EXPECT_EQ(AliasTarget("models", "production"), "v1");

  const uint64_t before = LastSeq();
  const CtlResult set = Request(
      kMember,
      R"({"op":"alias_set","collection":"models","alias":"mine","target":"v0","uid":0})");
  ASSERT_EQ(set.err, 0) << set.reply.dump();
  const auto events = EventsAfter(before);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].uid, kMember.uid);
}

}  // namespace
}  // namespace regfs::fs::testing
