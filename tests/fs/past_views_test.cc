// fs/past_views.h: one inode per distinct node of the views of the past,
// the same for equal nodes, a new one when anything it shows differs, and
// at most kMaxNodes of them.
#include "fs/past_views.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>

#include "fs/inode.h"

namespace regfs::fs {
namespace {

PastNode Moment(std::string moment, uint64_t seq) {
  PastNode node;
  node.kind = PastNode::Kind::kMoment;
  node.moment = std::move(moment);
  node.seq = seq;
  return node;
}

// `production@{1}` in collection 7, naming v<version> right after `seq`.
PastNode Link(uint64_t seq, uint64_t version) {
  PastNode node;
  node.kind = PastNode::Kind::kLink;
  node.seq = seq;
  node.collection_id = 7;
  node.collection = "models";
  node.link.collection_id = 7;
  node.link.collection = "models";
  node.link.name = "production@{1}";
  node.link.version = version;
  return node;
}

TEST(PastViewsTest, EqualNodesShareOneInodeOfTypePast) {
  PastViews views;
  const Ino a = views.Intern(Moment("now", 12));
  EXPECT_EQ(TypeOf(a), NodeType::kPast);
  EXPECT_NE(IdOf(a), 0u);
  EXPECT_EQ(views.Intern(Moment("now", 12)), a);
  EXPECT_EQ(views.Intern(Link(12, 3)), views.Intern(Link(12, 3)));
}

TEST(PastViewsTest, GetReturnsTheInternedNode) {
  PastViews views;
  PastNode link = Link(12, 3);
  link.link.target = "../../../../models/v3";
  const Ino ino = views.Intern(link);
  const std::optional<PastNode> got = views.Get(ino);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->kind, PastNode::Kind::kLink);
  EXPECT_EQ(got->seq, 12u);
  EXPECT_EQ(got->collection_id, 7);
  EXPECT_EQ(got->collection, "models");
  EXPECT_EQ(got->link.name, "production@{1}");
  EXPECT_EQ(got->link.version, 3u);
  EXPECT_EQ(got->link.target, "../../../../models/v3");
}

// Anything a node shows is part of its identity: when `production@{1}` or
// `.regfs/at/now` comes to mean something else, it is a new inode.
TEST(PastViewsTest, ANodeThatShowsSomethingElseGetsANewInode) {
  const PastNode base = Link(12, 3);
  struct {
    const char* what;
    std::function<void(PastNode&)> change;
  } cases[] = {
      {"another event", [](PastNode& n) { n.seq = 13; }},
      {"another kind",
       [](PastNode& n) { n.kind = PastNode::Kind::kCollection; }},
      {"another moment name", [](PastNode& n) { n.moment = "12"; }},
      {"another collection", [](PastNode& n) { n.collection_id = 8; }},
      {"another link name",
       [](PastNode& n) { n.link.name = "production@{2}"; }},
      {"another link target", [](PastNode& n) { n.link.target = "v3"; }},
      {"another version", [](PastNode& n) { n.link.version = 4; }},
  };
  PastViews views;
  const Ino base_ino = views.Intern(base);
  std::set<Ino> seen = {base_ino};
  for (const auto& c : cases) {
    PastNode changed = base;
    c.change(changed);
    const Ino ino = views.Intern(changed);
    EXPECT_TRUE(seen.insert(ino).second) << c.what << ": reused an inode";
    EXPECT_EQ(views.Intern(changed), ino) << c.what << ": not stable";
  }
  EXPECT_EQ(views.Intern(base), base_ino) << "the old meaning keeps its inode";
}

// A directory has one name: the same event reached as `.regfs/at/now` and
// as `.regfs/at/12` is two directories.
TEST(PastViewsTest, AMomentIsKeyedByTheNameItWasLookedUpBy) {
  PastViews views;
  const Ino by_now = views.Intern(Moment("now", 12));
  const Ino by_number = views.Intern(Moment("12", 12));
  EXPECT_NE(by_now, by_number);
  EXPECT_EQ(views.Get(by_now)->moment, "now");
  EXPECT_EQ(views.Get(by_number)->moment, "12");
}

TEST(PastViewsTest, GetOfAnInodeItDidNotMakeIsNothing) {
  PastViews views;
  const Ino made = views.Intern(Moment("now", 1));
  EXPECT_EQ(views.Get(MakeIno(NodeType::kPast, 0)), std::nullopt);
  EXPECT_EQ(views.Get(MakeIno(NodeType::kPast, IdOf(made) + 1)), std::nullopt);
  // The same id under another type is not a past node.
  EXPECT_EQ(views.Get(MakeIno(NodeType::kAlias, IdOf(made))), std::nullopt);
  EXPECT_EQ(views.Get(MakeIno(NodeType::kVersion, IdOf(made))), std::nullopt);
  EXPECT_EQ(views.Get(kRootIno), std::nullopt);
  EXPECT_EQ(views.Get(kAtDirIno), std::nullopt);
}

// The table holds at most kMaxNodes. The node after that empties it: the
// inodes the kernel still holds answer nothing (ENOENT), a fresh lookup
// makes a node again, and no inode number is ever given to two nodes.
TEST(PastViewsTest, AFullTableIsEmptiedAndNeverReusesAnInode) {
  PastViews views;
  const PastNode first = Moment("first", 0);
  const Ino first_ino = views.Intern(first);
  Ino last_ino = first_ino;
  for (uint64_t seq = 1; seq < PastViews::kMaxNodes; ++seq) {
    last_ino = views.Intern(Moment("", seq));
  }
  // Full, not yet emptied: every node still answers.
  EXPECT_EQ(IdOf(last_ino) - IdOf(first_ino), PastViews::kMaxNodes - 1);
  ASSERT_TRUE(views.Get(first_ino).has_value());
  EXPECT_EQ(views.Get(first_ino)->moment, "first");
  EXPECT_EQ(views.Get(last_ino)->seq, PastViews::kMaxNodes - 1);
  EXPECT_EQ(views.Intern(first), first_ino) << "still interned";

  const Ino overflow = views.Intern(Moment("", PastViews::kMaxNodes));
  EXPECT_EQ(views.Get(first_ino), std::nullopt);
  EXPECT_EQ(views.Get(last_ino), std::nullopt);
  ASSERT_TRUE(views.Get(overflow).has_value());
  EXPECT_EQ(views.Get(overflow)->seq, PastViews::kMaxNodes);
  EXPECT_GT(IdOf(overflow), IdOf(last_ino)) << "an old inode number reused";

  const Ino again = views.Intern(first);
  EXPECT_NE(again, first_ino) << "an emptied node must come back new";
  EXPECT_GT(IdOf(again), IdOf(overflow));
  EXPECT_EQ(views.Get(again)->moment, "first");
  EXPECT_EQ(views.Get(first_ino), std::nullopt);
}

TEST(PastViewsTest, PastVersionTargetLeadsBackToTheLiveTree) {
  // From .regfs/at/<moment>/<collection>/: up to the mount's root.
  EXPECT_EQ(PastVersionTarget("models", 3), "../../../../models/v3");
  EXPECT_EQ(PastVersionTarget("ds", 0), "../../../../ds/v0");
}

}  // namespace
}  // namespace regfs::fs
