// A shared store (issue 14): a node-local store directory that names the
// registry's metadata in PostgreSQL and its blob directory on a shared
// file system, so that many machines serve one registry.
//
// The store directory holds only STORE/shared-store.conf (mode 0600), in
// key=value lines ('#' starts a comment line; blank lines are ignored):
//
//   # regfs shared store
//   metadata = postgresql://regfs@db/registry
//   blobs = /shared/regfs-blobs
//
// `metadata` is a libpq conninfo (a postgresql:// URL or key=value
// words) and never holds a password: libpq takes one from PGPASSFILE
// (~/.pgpass) or the environment, as its other settings (PGSSLMODE, ...).
// `blobs` is an absolute path, the same directory on every node, or an S3
// location, s3://BUCKET/PREFIX (issue 17): the blobs are objects there,
// and each node keeps a bounded cache of them in STORE/blobs (its drafts
// in STORE/drafts). An optional `timeout = SECONDS` (1 to 3600, default
// 15) bounds how long one database call waits for the server, and a
// connection for its start; and one S3 request, retries included (a
// transfer that keeps moving is not cut): a frozen or unreachable server
// then fails calls with an I/O error instead of hanging them.
//
// With S3, optional lines:
//   s3-endpoint = http://minio:9000   # else AWS_ENDPOINT_URL, else AWS
//   s3-region = eu-west-1             # else AWS_REGION, ~/.aws/config
//   s3-addressing = path | virtual    # default: path with an endpoint
//   cache-size = 200G                 # the node cache's bound (100G)
//   prefetch = production staging     # aliases whose new target the
//                                     # mount fetches when they move (*: all)
//   gc-grace = 3600                   # gc leaves younger objects alone
// Credentials are never in the file: they come from the AWS conventions
// (AWS_ACCESS_KEY_ID, ..., ~/.aws/credentials).
#ifndef REGFS_REGISTRY_SHARED_STORE_H_
#define REGFS_REGISTRY_SHARED_STORE_H_

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "registry/error.h"
#include "registry/identity.h"
#include "registry/registry.h"
#include "registry/remote_blobs.h"

namespace regfs::registry {

inline constexpr uint64_t kDefaultCacheSize = uint64_t{100} << 30;

struct SharedStoreConfig {
  std::string metadata;          // libpq conninfo, without a password
  std::filesystem::path blobs;   // the shared blob directory (not with s3)
  std::chrono::seconds timeout{15};  // on one database call
  // Blobs in S3 instead of a shared directory, and the node cache's
  // settings.
  std::optional<S3StoreSettings> s3;
  uint64_t cache_size = kDefaultCacheSize;
  std::vector<std::string> prefetch;  // alias names; "*": every alias
  std::chrono::seconds gc_grace{3600};
};

// "200G", "512M", "1T", "4096" (bytes; K, M, G, T are powers of 1024).
[[nodiscard]] Result<uint64_t> ParseByteSize(std::string_view text);
// `blobs` as given to init: an absolute directory, or s3://BUCKET/PREFIX
// (into config.s3).
[[nodiscard]] Status SetBlobsLocation(SharedStoreConfig& config,
                                      std::string_view blobs);

inline constexpr std::string_view kSharedStoreConfigName = "shared-store.conf";

// InvalidArgument unless `config` can be written: a conninfo without a
// password (the message points at PGPASSFILE and never shows it) and an
// absolute blob directory.
[[nodiscard]] Status CheckSharedStoreConfig(const SharedStoreConfig& config);
// Writes STORE/shared-store.conf (mode 0600), durably. AlreadyExists if
// it is there.
[[nodiscard]] Status WriteSharedStoreConfig(const std::filesystem::path& store,
                                            const SharedStoreConfig& config);
// The configuration of `store`, or nullopt when it has none (an embedded
// store, or no store). Corruption for a malformed file, naming the line.
[[nodiscard]] Result<std::optional<SharedStoreConfig>> ReadSharedStoreConfig(
    const std::filesystem::path& store);

// Where a shared store's drafts are: beside the blobs, on their file
// system (publishing hard-links a draft's files into blobs/), in a
// directory per host: a uid names a user only on its own machine, and a
// draft is written and published through one node's mount.
std::filesystem::path SharedDraftsDir(const std::filesystem::path& blobs);

// The blob and drafts directories of the store at `store`: a shared
// store's (from its configuration), else STORE/blobs and STORE/drafts
// (a store in S3 has its cache and drafts there too).
// A configuration that cannot be read counts as none here: Registry::Open
// reads it first and reports why.
std::filesystem::path BlobsDirOf(const std::filesystem::path& store);
std::filesystem::path DraftsDirOf(const std::filesystem::path& store);

// This machine's host name (gethostname), read once: it names the node's
// drafts directory of a shared store.
const std::string& HostName();

// Creates a shared store: `store` (mode 0700, owned by `owner`) gets the
// configuration file, and the registry's schema is created in
// `config.metadata` with its migrations, owned by `owner` by name (admin
// on every node); or, when that database already holds a registry,
// `store` joins it (`*joined` true; its owner stays). Then opens it.
// InvalidArgument for a conninfo that holds a password; AlreadyExists if
// `store` holds a registry; IoError when the database cannot be reached.
[[nodiscard]] Result<std::unique_ptr<Registry>> InitSharedStore(
    const std::filesystem::path& store, const Identity& owner,
    const SharedStoreConfig& config, bool* joined, OpenOptions options = {});

}  // namespace regfs::registry

#endif  // REGFS_REGISTRY_SHARED_STORE_H_
