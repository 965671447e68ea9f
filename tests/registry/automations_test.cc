// Automations in the registry (issue 16): adding, listing and removing
// them (admins only, each a history event), the checks on what is given,
// the events a deliverer reads for one, its log, and the delivery lease.
#include "registry/automations.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "registry/model_json.h"
#include "registry/registry.h"
#include "registry/secret_file.h"
#include "tests/registry/test_util.h"

namespace regfs::registry {
namespace {

using testing::CodeOf;
using testing::Describe;
using testing::Owner;
using testing::RegistryTest;
using testing::User;

AutomationSpec Webhook(std::string name, std::vector<EventType> events) {
  AutomationSpec spec;
  spec.name = std::move(name);
  spec.events = std::move(events);
  spec.target.url = "http://127.0.0.1:9/hook";
  return spec;
}

class AutomationsTest : public RegistryTest {};

TEST_F(AutomationsTest, AddListRemoveAreHistoryEvents) {
  auto added = reg().AddAutomation(
      Owner(), Webhook("notify", {EventType::kAliasMove}));
  REGFS_ASSERT_OK(added);
  EXPECT_EQ(added->position, Seq());  // its own automation.add
  auto list = reg().ListAutomations(Owner());
  REGFS_ASSERT_OK(list);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].spec.name, "notify");
  EXPECT_EQ((*list)[0].spec.events,
            std::vector<EventType>{EventType::kAliasMove});
  EXPECT_EQ((*list)[0].created_by, Owner().user);
  REGFS_ASSERT_OK(reg().RemoveAutomation(Owner(), "notify"));
  const auto events = AllEvents();
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events[events.size() - 2].type, EventType::kAutomationAdd);
  EXPECT_EQ(events.back().type, EventType::kAutomationRemove);
  EXPECT_EQ(events.back().detail.value("automation", ""), "notify");
  EXPECT_NE(RenderText(events.back()).find("removed automation notify"),
            std::string::npos)
      << RenderText(events.back());
  EXPECT_NE(RenderJsonLine(events.back()).find("\"event\":\"automation.rm\""),
            std::string::npos);
  EXPECT_EQ(CodeOf(reg().RemoveAutomation(Owner(), "notify")),
            Code::kNotFound);
}

TEST_F(AutomationsTest, NonAdminsAreRefused) {
  REGFS_ASSERT_OK(reg().Grant(Owner(), "20001", Role::kMember));
  const Identity member = User(20001);
  EXPECT_EQ(CodeOf(reg().AddAutomation(
                member, Webhook("x", {EventType::kAliasMove}))),
            Code::kPermissionDenied);
  EXPECT_EQ(CodeOf(reg().ListAutomations(member)), Code::kPermissionDenied);
  EXPECT_EQ(CodeOf(reg().DeliveryLog(member, "", 10)),
            Code::kPermissionDenied);
  REGFS_ASSERT_OK(
      reg().AddAutomation(Owner(), Webhook("x", {EventType::kAliasMove})));
  EXPECT_EQ(CodeOf(reg().RemoveAutomation(member, "x")),
            Code::kPermissionDenied);
}

TEST_F(AutomationsTest, BadSpecsAreRefusedClearly) {
  auto refused = [&](AutomationSpec spec, std::string_view says) {
    auto r = reg().AddAutomation(Owner(), std::move(spec));
    ASSERT_EQ(CodeOf(r), Code::kInvalidArgument) << Describe(r);
    EXPECT_NE(r.error().message.find(says), std::string::npos)
        << r.error().message;
  };
  refused(Webhook("bad name", {EventType::kAliasMove}), "automation");
  refused(Webhook("x", {}), "at least one event");
  auto ftp = Webhook("x", {EventType::kAliasMove});
  ftp.target.url = "ftp://example.com/";
  refused(ftp, "http:// or https://");
  auto nohost = Webhook("x", {EventType::kAliasMove});
  nohost.target.url = "http:///path";
  refused(nohost, "no host");
  auto secret = Webhook("x", {EventType::kAliasMove});
  secret.target.secret_file = (store() / "no-such-secret").string();
  refused(secret, "cannot read secret file");
  auto both = Webhook("x", {EventType::kAliasMove});
  both.target.exec = "true";
  refused(both, "exactly one");
  auto unknown = ParseEventList("alias.move,alias.jump");
  ASSERT_EQ(CodeOf(unknown), Code::kInvalidArgument);
  EXPECT_NE(unknown.error().message.find("unknown event kind 'alias.jump'"),
            std::string::npos);
  EXPECT_NE(unknown.error().message.find("automation.add"), std::string::npos);
  REGFS_ASSERT_OK(
      reg().AddAutomation(Owner(), Webhook("x", {EventType::kAliasMove})));
  EXPECT_EQ(CodeOf(reg().AddAutomation(
                Owner(), Webhook("x", {EventType::kAliasMove}))),
            Code::kAlreadyExists);
}

TEST_F(AutomationsTest, CommandsRunAsTheAdminWhoAddedThem) {
  REGFS_ASSERT_OK(reg().Grant(Owner(), "20002", Role::kAdmin));
  AutomationSpec spec;
  spec.name = "cmd";
  spec.events = {EventType::kVersionCreate};
  spec.target.exec = "cat > /dev/null";
  spec.target.uid = 0;  // ignored: the adder's identity wins
  auto added = reg().AddAutomation(User(20002), spec);
  REGFS_ASSERT_OK(added);
  EXPECT_EQ(added->spec.target.uid, 20002u);
  EXPECT_EQ(added->spec.target.user, "20002");
}

TEST_F(AutomationsTest, EventsAfterThePositionThatMatchTheFilters) {
  REGFS_ASSERT_OK(PushContent(Owner(), "models", "one"));
  REGFS_ASSERT_OK(PushContent(Owner(), "models", "two"));
  REGFS_ASSERT_OK(PushContent(Owner(), "other", "three"));
  auto spec = Webhook("prod", {EventType::kAliasCreate, EventType::kAliasMove});
  spec.collection = "models";
  spec.alias = "production";
  auto added = reg().AddAutomation(Owner(), spec);
  REGFS_ASSERT_OK(added);
  REGFS_ASSERT_OK(reg().SetAlias(Owner(), "models", "production", "v0"));
  REGFS_ASSERT_OK(reg().SetAlias(Owner(), "models", "staging", "v1"));
  REGFS_ASSERT_OK(reg().SetAlias(Owner(), "other", "production", "v0"));
  REGFS_ASSERT_OK(reg().SetAlias(Owner(), "models", "production", "v1"));
  REGFS_ASSERT_OK(PushContent(Owner(), "models", "four"));
  auto pending = reg().AutomationEvents(*added, 100);
  REGFS_ASSERT_OK(pending);
  ASSERT_EQ(pending->events.size(), 2u);
  EXPECT_EQ(pending->events[0].type, EventType::kAliasCreate);
  EXPECT_EQ(pending->events[1].type, EventType::kAliasMove);
  EXPECT_EQ(pending->events[1].new_version, 1u);
  EXPECT_EQ(pending->scanned_to, Seq());
}

TEST_F(AutomationsTest, OneLeaseHolderRecordsAndAdvances) {
  auto added =
      reg().AddAutomation(Owner(), Webhook("a", {EventType::kAliasMove}));
  REGFS_ASSERT_OK(added);
  auto first = reg().TakeDeliveryLease("host:1", 60'000);
  REGFS_ASSERT_OK(first);
  EXPECT_TRUE(*first);
  auto second = reg().TakeDeliveryLease("host:2", 60'000);
  REGFS_ASSERT_OK(second);
  EXPECT_FALSE(*second);
  DeliveryRecord record;
  record.automation = "a";
  record.seq = added->position + 5;
  record.time = NowMs();
  record.status = 200;
  record.message = "ok";
  EXPECT_EQ(CodeOf(reg().RecordDelivery("host:2", record, true)),
            Code::kConflict);
  REGFS_ASSERT_OK(reg().RecordDelivery("host:1", record, true));
  auto a = reg().GetAutomation(Owner(), "a");
  REGFS_ASSERT_OK(a);
  EXPECT_EQ(a->position, record.seq);
  auto log = reg().DeliveryLog(Owner(), "a", 10);
  REGFS_ASSERT_OK(log);
  ASSERT_EQ(log->size(), 1u);
  EXPECT_EQ((*log)[0].status, 200);
  EXPECT_EQ((*log)[0].outcome, DeliveryOutcome::kOk);
  REGFS_ASSERT_OK(reg().ReleaseDeliveryLease("host:1"));
  auto taken = reg().TakeDeliveryLease("host:2", 60'000);
  REGFS_ASSERT_OK(taken);
  EXPECT_TRUE(*taken);
  // An expired lease is free for the taking.
  auto expired = reg().TakeDeliveryLease("host:2", -1);
  REGFS_ASSERT_OK(expired);
  auto takeover = reg().TakeDeliveryLease("host:3", 60'000);
  REGFS_ASSERT_OK(takeover);
  EXPECT_TRUE(*takeover);
}

// The control file's forms read back exactly what was written.
TEST_F(AutomationsTest, WireFormsRoundTrip) {
  auto spec = Webhook("hook", {EventType::kAliasMove, EventType::kAliasCreate});
  spec.collection = "models";
  spec.alias = "production";
  spec.target.format = AutomationFormat::kSlack;
  spec.target.secret_file = "/etc/regfs/hook.secret";
  Automation a{.spec = spec, .position = 7, .created_ms = 1234567,
               .created_by = "alice"};
  a.spec.target.uid = 20003;
  a.spec.target.gid = 20004;
  a.spec.target.user = "alice";
  auto back = AutomationFromJson(ToJson(a));
  REGFS_ASSERT_OK(back);
  EXPECT_EQ(ToJson(*back), ToJson(a));
  EXPECT_EQ(back->spec.events, a.spec.events);
  EXPECT_EQ(back->spec.target.format, AutomationFormat::kSlack);
  EXPECT_EQ(back->spec.target.uid, 20003u);
  // The spec's form carries no one to run as.
  EXPECT_FALSE(ToJson(spec).contains("run_as"));
  DeliveryRecord d{.automation = "hook", .seq = 9, .attempt = 2, .time = 42,
                   .outcome = DeliveryOutcome::kRetry, .status = 503,
                   .latency_ms = 17, .message = "busy"};
  auto record = DeliveryRecordFromJson(ToJson(d));
  REGFS_ASSERT_OK(record);
  EXPECT_EQ(ToJson(*record), ToJson(d));
  d.status.reset();
  EXPECT_EQ(ToJson(*DeliveryRecordFromJson(ToJson(d))), ToJson(d));
  EXPECT_EQ(CodeOf(AutomationFromJson(OrderedJson{{"name", "x"}})),
            Code::kInvalidArgument);
}

TEST_F(AutomationsTest, SecretFilesAreRegularSmallAbsoluteAndNotEmpty) {
  const SecretReader self{.uid = ::geteuid(), .gid = ::getegid()};
  const std::string path = (store() / "secret").string();
  auto write = [&](const std::string& content) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
  };
  write("s3cret\r\n");
  auto read = ReadSecretFile(path, self);
  REGFS_ASSERT_OK(read);
  EXPECT_EQ(*read, "s3cret");
  write("\n");
  EXPECT_EQ(ReadSecretFile(path, self).error().message,
            "secret file '" + path + "' is empty");
  write(std::string(kMaxSecretBytes + 1, 'x'));
  EXPECT_EQ(ReadSecretFile(path, self).error().message,
            "secret file '" + path + "' is larger than 64 KiB");
  const std::string fifo = (store() / "fifo").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_EQ(ReadSecretFile(fifo, self).error().message,
            "secret file '" + fifo + "' is not a regular file");
  EXPECT_EQ(ReadSecretFile(store().string(), self).error().message,
            "secret file '" + store().string() + "' is not a regular file");
  auto relative = Webhook("x", {EventType::kAliasMove});
  relative.target.secret_file = "secret";
  auto refused = reg().AddAutomation(Owner(), relative);
  ASSERT_EQ(CodeOf(refused), Code::kInvalidArgument);
  EXPECT_EQ(refused.error().message,
            "secret file 'secret' is not an absolute path");
}

}  // namespace
}  // namespace regfs::registry
