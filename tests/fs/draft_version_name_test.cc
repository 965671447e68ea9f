// Publishing a draft onto the next version's name (`mv .data ds/v1`), the
// gesture that works for trees where a rename onto `latest` or an existing
// alias cannot (rename(2) puts no directory over a symlink): the number is
// a compare-and-swap in the publish's transaction, so of two racing
// publishers exactly one gets it; a number that is not the next is refused.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <thread>
#include <vector>

#include "tests/fs/draft_fixture.h"

namespace regfs::fs::testing {
namespace {

using registry::EventType;
using ::testing::Contains;
using ::testing::Not;

class DraftVersionNameTest : public DraftTest {
 protected:
  // The events after `seq` of `type` on `collection`.
  std::vector<registry::Event> Of(uint64_t seq, EventType type) {
    std::vector<registry::Event> out;
    for (auto& e : EventsAfter(seq)) {
      if (e.type == type) out.push_back(e);
    }
    return out;
  }
  // Writes `script` in the collection's directory as the member.
  void Prepare(const std::string& collection, const std::string& script) {
    const RunResult r =
        Sh(kMember, "cd " + M(collection).string() + " && " + script);
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err << DaemonLog();
  }
};

TEST_F(DraftVersionNameTest, TreeOntoNextVersionMovesTheSidecarsAlias) {
  ASSERT_TRUE(reg().Unprotect(root(), "production").has_value());
  ASSERT_TRUE(reg().CreateAlias(root(), "zoo", "production", "v0"));
  const uint64_t seq = LastSeq();
  Prepare("zoo", "cp -r " + (work_ / "tree").string() +
                     " .data && echo '{\"aliases\": [\"production\"]}' > "
                     ".data.metadata.json");
  // Without -T, mv would move the draft into the tree `latest` names:
  // refused, and the log names the gesture that publishes.
  const RunResult into = Sh(kMember, "mv " + M("zoo/.data").string() + " " +
                                         M("zoo/latest").string());
  EXPECT_NE(into.exit_code, 0);
  EXPECT_NE(DaemonLog().find("mv zoo/.data zoo/v1"), std::string::npos)
      << DaemonLog();
  EXPECT_EQ(Versions("zoo"), 1u);

  const RunResult mv = Sh(kMember, "mv " + M("zoo/.data").string() + " " +
                                       M("zoo/v1").string());
  ASSERT_EQ(mv.exit_code, 0) << mv.err << DaemonLog();
  EXPECT_EQ(Versions("zoo"), 2u);
  EXPECT_EQ(AliasTarget("zoo", "latest"), "v1");
  EXPECT_EQ(AliasTarget("zoo", "production"), "v1");
  const RunResult diff = Sh(kMember, "diff -r " + (work_ / "tree").string() +
                                         " " + M("zoo/v1").string());
  EXPECT_EQ(diff.exit_code, 0) << diff.out << diff.err;
  EXPECT_THAT(ListAs(kMember, M("zoo")), Not(Contains(".data")));
  EXPECT_THAT(ListAs(kMember, M("zoo")),
              Not(Contains(".data.metadata.json")));
  // History: the version's creation and the alias's move, by the member.
  const auto created = Of(seq, EventType::kVersionCreate);
  ASSERT_EQ(created.size(), 1u);
  EXPECT_EQ(created[0].uid, kMember.uid);
  EXPECT_EQ(created[0].interface, registry::Interface::kFs);
  EXPECT_EQ(created[0].new_version, 1u);
  const auto moves = Of(seq, EventType::kAliasMove);
  const auto moved = std::ranges::find_if(
      moves, [](const registry::Event& e) { return e.alias == "production"; });
  ASSERT_NE(moved, moves.end());
  EXPECT_EQ(moved->uid, kMember.uid);
  EXPECT_EQ(moved->interface, registry::Interface::kFs);
  EXPECT_EQ(moved->old_version, 0u);
  EXPECT_EQ(moved->new_version, 1u);
}

// The hint for `mv .data zoo/latest` names the number the registry will
// give, which is past a deleted newest version (numbers are never reused).
TEST_F(DraftVersionNameTest, HintNamesTheNextNumberAfterADeletedNewest) {
  Prepare("zoo", "cp -r " + (work_ / "tree").string() + " .data");
  ASSERT_EQ(RenameAs(kMember, M("zoo/.data"), M("zoo/v1")), 0) << DaemonLog();
  ASSERT_TRUE(reg().DeleteVersion(root(), "zoo", 1).has_value());
  Prepare("zoo", "cp -r " + (work_ / "tree").string() + " .more");
  const RunResult into = Sh(kMember, "mv " + M("zoo/.more").string() + " " +
                                         M("zoo/latest").string());
  EXPECT_NE(into.exit_code, 0);
  EXPECT_NE(DaemonLog().find("mv zoo/.more zoo/v2"), std::string::npos)
      << DaemonLog();
  ASSERT_EQ(RenameAs(kMember, M("zoo/.more"), M("zoo/v2")), 0) << DaemonLog();
  EXPECT_EQ(AliasTarget("zoo", "latest"), "v2");
}

TEST_F(DraftVersionNameTest, FileOntoNextVersionWithEveryTool) {
  ASSERT_TRUE(reg().Unprotect(root(), "production").has_value());
  const uint64_t seq = LastSeq();
  const std::string w = (work_ / "w.bin").string();
  // mv with a sidecar moving `production`; mv -T; mv -v; os.rename; and
  // rsync, which writes a dot-temporary (a draft) and renames it.
  Prepare("models", "cp " + w +
                        " .a && echo '{\"aliases\": [\"production\"]}' > "
                        ".a.metadata.json && mv .a v3");
  Prepare("models", "cp " + w + " .b && mv -T .b v4");
  const RunResult verbose = Sh(
      kMember, "cd " + M("models").string() + " && cp " + w +
                   " .c && mv -v .c v5");
  ASSERT_EQ(verbose.exit_code, 0) << verbose.err << DaemonLog();
  EXPECT_NE(verbose.out.find("renamed '.c' -> 'v5'"), std::string::npos)
      << verbose.out;
  Prepare("models", "cp " + w + " .d && python3 -c 'import os; "
                                "os.rename(\".d\", \"v6\")'");
  Prepare("models", "rsync " + w + " v7");
  EXPECT_EQ(Versions("models"), 8u);
  for (const char* v : {"v3", "v4", "v5", "v6", "v7"}) {
    EXPECT_EQ(ReadFile(M("models") / v), ReadFile(work_ / "w.bin")) << v;
  }
  EXPECT_EQ(AliasTarget("models", "production"), "v3");
  EXPECT_EQ(AliasTarget("models", "latest"), "v7");
  const auto created = Of(seq, EventType::kVersionCreate);
  ASSERT_EQ(created.size(), 5u);
  for (const auto& e : created) {
    EXPECT_EQ(e.uid, kMember.uid);
    EXPECT_EQ(e.interface, registry::Interface::kFs);
  }
  EXPECT_THAT(ListAs(kMember, M("models")), Not(Contains(".a")));
}

// Two members rename their drafts onto v3 at once: one publishes, the
// other hears EEXIST and keeps its draft.
TEST_F(DraftVersionNameTest, RacingPublishersOneWinsTheOtherGetsEexist) {
  Prepare("models", "cp " + (work_ / "w.bin").string() + " .mine");
  const RunResult theirs =
      Sh(kGroupMember, "cd " + M("models").string() + " && echo theirs > .t");
  ASSERT_EQ(theirs.exit_code, 0) << theirs.err << DaemonLog();
  int go[2];
  ASSERT_EQ(pipe(go), 0);
  auto racer = [&](const User& user, const char* draft, int& result) {
    result = AsUser(user, [&] {
      ::close(go[1]);
      char c;
      while (::read(go[0], &c, 1) < 0 && errno == EINTR) {
      }
      return ::rename((M("models") / draft).c_str(), M("models/v3").c_str()) ==
                     0
                 ? 0
                 : errno;
    });
  };
  int mine = -1, other = -1;
  std::thread a(racer, std::cref(kMember), ".mine", std::ref(mine));
  std::thread b(racer, std::cref(kGroupMember), ".t", std::ref(other));
  ::close(go[1]);  // both start when every copy of the write end is closed
  a.join();
  b.join();
  ::close(go[0]);
  std::vector<int> results = {mine, other};
  std::ranges::sort(results);
  EXPECT_EQ(results, (std::vector<int>{0, EEXIST})) << DaemonLog();
  EXPECT_EQ(Versions("models"), 4u);
  // The loser's draft is intact, and the log says which number is next.
  const bool mine_won = mine == 0;
  EXPECT_EQ(StatAs(mine_won ? kGroupMember : kMember,
                   M("models") / (mine_won ? ".t" : ".mine")),
            0);
  EXPECT_EQ(ReadFile(M("models/v3")),
            mine_won ? ReadFile(work_ / "w.bin") : "theirs\n");
  EXPECT_NE(DaemonLog().find("the next version of models is now v4"),
            std::string::npos)
      << DaemonLog();
}

TEST_F(DraftVersionNameTest, NumbersOtherThanTheNextAreRefused) {
  Prepare("models", "cp " + (work_ / "w.bin").string() + " .x");
  const stdfs::path dir = M("models");
  EXPECT_EQ(RenameAs(kMember, dir / ".x", dir / "v9"), EINVAL) << DaemonLog();
  EXPECT_EQ(RenameAs(kMember, dir / ".x", dir / "v007"), EINVAL);
  EXPECT_EQ(RenameAs(kMember, dir / ".x", dir / "V3"), EINVAL);
  // A number already taken: v1 exists (and so does v0).
  EXPECT_EQ(RenameAs(kMember, dir / ".x", dir / "v1"), EEXIST);
  EXPECT_EQ(RenameAs(kMember, dir / ".x", dir / "v0"), EEXIST);
  EXPECT_EQ(Versions("models"), 3u);
  EXPECT_EQ(StatAs(kMember, dir / ".x"), 0) << "the draft is intact";
  EXPECT_NE(DaemonLog().find("v9 is not the next version of models: the "
                             "next is v3"),
            std::string::npos)
      << DaemonLog();
  // Another user cannot publish it, whatever the number.
  EXPECT_EQ(RenameAs(kViewer, dir / ".x", dir / "v3"), ENOENT)
      << "another user's draft is not even visible";
  EXPECT_EQ(RenameAs(kMember, dir / ".x", dir / "v3"), 0) << DaemonLog();
  EXPECT_EQ(Versions("models"), 4u);
}

}  // namespace
}  // namespace regfs::fs::testing
