// DirectStore: the Store of a store directory, opened by its owner.
#include <memory>
#include <utility>

#include "delivery/sample_delivery.h"
#include "tools/store.h"

namespace regfs::tools {
namespace {

class DirectStore final : public Store {
 public:
  DirectStore(std::unique_ptr<reg::Registry> registry, reg::Identity who)
      : registry_(std::move(registry)), who_(std::move(who)) {}

  reg::Result<std::vector<reg::Collection>> ListCollections() override {
    return r().ListCollections();
  }
  reg::Result<reg::Collection> GetCollection(std::string_view name) override {
    return r().GetCollection(name);
  }
  reg::Result<std::vector<reg::Version>> ListVersionsInFull(
      std::string_view collection) override {
    return r().ListVersionsInFull(collection);
  }
  reg::Result<std::vector<reg::Alias>> ListAliases(
      std::string_view collection) override {
    return r().ListAliases(collection);
  }
  reg::Result<reg::Version> Resolve(std::string_view collection,
                                    std::string_view name) override {
    return r().Resolve(collection, name);
  }
  reg::Result<reg::Version> GetVersionById(int64_t id) override {
    return r().GetVersionById(id);
  }
  reg::Result<std::vector<reg::TreeEntry>> ListTree(
      int64_t version_id, int64_t parent_id) override {
    return r().ListTree(version_id, parent_id);
  }
  reg::Result<std::vector<reg::ProtectedName>> ListProtected() override {
    return r().ListProtected();
  }
  reg::Result<std::vector<reg::Event>> History(
      const reg::HistoryFilter& filter) override {
    return r().History(filter);
  }
  reg::Result<uint64_t> LastSeq() override { return r().LastSeq(); }
  reg::Result<uint64_t> SeqAt(std::string_view moment) override {
    return r().SeqAt(moment);
  }
  reg::Result<reg::Alias> GetAliasAt(std::string_view collection,
                                     std::string_view name,
                                     uint64_t seq) override {
    return r().GetAliasAt(collection, name, seq);
  }
  reg::Result<reg::Alias> GetAliasBefore(std::string_view collection,
                                         std::string_view name,
                                         uint64_t back) override {
    return r().GetAliasBefore(collection, name, back);
  }
  reg::Result<std::vector<reg::RoleGrant>> ListRoles() override {
    return r().ListRoles();
  }
  reg::Result<reg::Role> DefaultRole() override { return r().DefaultRole(); }
  reg::Result<reg::WhoAmI> WhoAmI() override {
    REGFS_ASSIGN_OR_RETURN(const reg::Role role, r().RoleOf(who_));
    return reg::WhoAmI{
        .who = who_, .role = role, .store = r().store().string()};
  }
  reg::Result<std::filesystem::path> BlobPath(std::string_view key) override {
    return r().BlobPath(key);
  }
  reg::Result<reg::SearchResults> Search(
      std::string_view term, const reg::SearchOptions& options) override {
    return r().Search(who_, term, options);
  }

  reg::Result<reg::Alias> SetAlias(
      std::string_view collection, std::string_view alias,
      std::string_view target,
      std::optional<std::optional<uint64_t>> expected) override {
    return r().SetAlias(who_, collection, alias, target, expected);
  }
  reg::Status RemoveAlias(std::string_view collection,
                          std::string_view alias) override {
    return r().RemoveAlias(who_, collection, alias);
  }
  reg::Status RenameAlias(std::string_view collection, std::string_view from,
                          std::string_view to, bool replace) override {
    return r().RenameAlias(who_, collection, from, to, replace);
  }
  reg::Status AddTag(std::string_view collection, uint64_t number,
                     std::string_view tag) override {
    return r().AddTag(who_, collection, number, tag);
  }
  reg::Status RemoveTag(std::string_view collection, uint64_t number,
                        std::string_view tag) override {
    return r().RemoveTag(who_, collection, number, tag);
  }
  reg::Status Protect(std::string_view name) override {
    return r().Protect(who_, name);
  }
  reg::Status Unprotect(std::string_view name) override {
    return r().Unprotect(who_, name);
  }
  reg::Status Grant(std::string_view principal, reg::Role role) override {
    return r().Grant(who_, principal, role);
  }
  reg::Status Revoke(std::string_view principal) override {
    return r().Revoke(who_, principal);
  }
  reg::Status DeleteVersion(std::string_view collection,
                            uint64_t number) override {
    return r().DeleteVersion(who_, collection, number);
  }
  reg::Status DeleteCollection(std::string_view name, bool all) override {
    return r().DeleteCollection(who_, name, all);
  }
  reg::Result<reg::Version> Push(const reg::PushRequest& request) override {
    return r().Push(who_, request);
  }
  reg::Result<reg::Automation> AddAutomation(
      const reg::AutomationSpec& spec) override {
    return r().AddAutomation(who_, spec);
  }
  reg::Status RemoveAutomation(std::string_view name) override {
    return r().RemoveAutomation(who_, name);
  }
  reg::Result<std::vector<reg::Automation>> ListAutomations() override {
    return r().ListAutomations(who_);
  }
  reg::Result<std::vector<reg::DeliveryRecord>> DeliveryLog(
      std::string_view name, uint64_t limit) override {
    return r().DeliveryLog(who_, name, limit);
  }
  reg::Result<reg::DeliveryRecord> TestAutomation(
      std::string_view name, std::chrono::milliseconds exec_timeout) override {
    delivery::DelivererOptions options;
    options.exec_timeout = exec_timeout;
    return delivery::DeliverSample(r(), who_, name, options);
  }
  reg::Result<reg::Registry*> Direct(std::string_view) override {
    return registry_.get();
  }

 private:
  reg::Registry& r() { return *registry_; }

  std::unique_ptr<reg::Registry> registry_;
  const reg::Identity who_;
};

}  // namespace

std::unique_ptr<Store> MakeDirectStore(std::unique_ptr<reg::Registry> registry,
                                       reg::Identity who) {
  return std::make_unique<DirectStore>(std::move(registry), std::move(who));
}

}  // namespace regfs::tools
