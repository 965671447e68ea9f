// The names of every enum the registry writes or reads as text (messages,
// JSON, the database, the command line): one table per enum, and the
// small functions that look a value or a name up in it. The declarations
// stay with their enums (error.h, model.h, model_json.h, search.h,
// automations.h); the kinds of events, whose rows also carry the text of
// a history line, are history.cc's.
#include "registry/enum_names.h"

#include <string_view>

#include "registry/automations.h"
#include "registry/error.h"
#include "registry/model.h"
#include "registry/model_json.h"
#include "registry/search.h"

namespace regfs::registry {
namespace {

constexpr EnumName<Code> kCodeNames[] = {
    {Code::kNotFound, "not found"},
    {Code::kAlreadyExists, "already exists"},
    {Code::kPermissionDenied, "permission denied"},
    {Code::kNotPermitted, "not permitted"},
    {Code::kInvalidArgument, "invalid argument"},
    {Code::kConflict, "conflict"},
    {Code::kGroupsUnread, "groups unread"},
    {Code::kCorruption, "corruption"},
    {Code::kIoError, "I/O error"},
};

constexpr EnumName<Role> kRoleNames[] = {
    {Role::kNone, "none"},
    {Role::kViewer, "viewer"},
    {Role::kMember, "member"},
    {Role::kAdmin, "admin"},
};

constexpr EnumName<Kind> kKindNames[] = {
    {Kind::kEmpty, "empty"},
    {Kind::kFile, "file"},
    {Kind::kTree, "tree"},
};

// A search field's name, and the title of its group of results as the
// command line and the web view show it.
struct SearchFieldText {
  SearchField value;
  std::string_view name;
  std::string_view title;
};

constexpr SearchFieldText kSearchFieldNames[] = {
    {SearchField::kCollection, "collection", "collections"},
    {SearchField::kAlias, "alias", "aliases"},
    {SearchField::kTag, "tag", "tags"},
    {SearchField::kMetadata, "metadata", "metadata"},
    {SearchField::kDescription, "description", "descriptions"},
    {SearchField::kFile, "file", "file names"},
};

constexpr EnumName<AutomationFormat> kFormatNames[] = {
    {AutomationFormat::kJson, "json"},
    {AutomationFormat::kSlack, "slack"},
};

constexpr EnumName<DeliveryOutcome> kOutcomeNames[] = {
    {DeliveryOutcome::kOk, "ok"},
    {DeliveryOutcome::kRetry, "retry"},
    {DeliveryOutcome::kFailed, "failed"},
};

}  // namespace

std::string_view CodeName(Code code) {
  return NameOf(kCodeNames, code, "unknown");
}

std::optional<Code> CodeNamed(std::string_view name) {
  return ValueNamed(kCodeNames, name);
}

std::string_view RoleName(Role role) {
  return NameOf(kRoleNames, role, "none");
}

Result<Role> ParseRole(std::string_view name) {
  return ParseNamed(kRoleNames, name, "role",
                    ": use admin, member, viewer or none");
}

std::string_view KindName(Kind kind) {
  return NameOf(kKindNames, kind, "empty");
}

Result<Kind> ParseKind(std::string_view name) {
  return ParseNamed(kKindNames, name, "kind", ": file, tree or empty");
}

std::string_view SearchFieldName(SearchField field) {
  return NameOf(kSearchFieldNames, field, "collection");
}

std::string_view SearchFieldTitle(SearchField field) {
  return ColumnOf(kSearchFieldNames, field, &SearchFieldText::title,
                  std::string_view("matches"));
}

Result<SearchField> ParseSearchField(std::string_view name) {
  return ParseNamed(kSearchFieldNames, name, "search field");
}

std::string_view AutomationFormatName(AutomationFormat format) {
  return NameOf(kFormatNames, format, "json");
}

Result<AutomationFormat> ParseAutomationFormat(std::string_view name) {
  return ParseNamed(kFormatNames, name, "format", ": use json or slack");
}

std::string_view DeliveryOutcomeName(DeliveryOutcome outcome) {
  return NameOf(kOutcomeNames, outcome, "failed");
}

DeliveryOutcome DeliveryOutcomeNamed(std::string_view name) {
  return ValueNamed(kOutcomeNames, name).value_or(DeliveryOutcome::kFailed);
}

Result<DeliveryOutcome> ParseDeliveryOutcome(std::string_view name) {
  return ParseNamed(kOutcomeNames, name, "delivery outcome");
}

}  // namespace regfs::registry
