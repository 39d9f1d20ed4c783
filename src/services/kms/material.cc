// KMS key material: sealed by the barrier in kms_key_material, unsealed lazily into locked
// memory, cached with the key record so that the hot path (Encrypt) never reads the store on
// a hit.
#include <openssl/crypto.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "crypto/barrier.h"
#include "crypto/crypto.h"
#include "runtime/services.h"
#include "services/kms/internal.h"

namespace citadel::kms {

namespace {

size_t pageSize() {
  static const size_t kPage = [] {
    long p = sysconf(_SC_PAGESIZE);
    return p > 0 ? static_cast<size_t>(p) : size_t{4096};
  }();
  return kPage;
}

}  // namespace

Secret::Secret(std::string_view bytes) : size_(bytes.size()) {
  const size_t page = pageSize();
  alloc_ = ((std::max<size_t>(size_, 1) + page - 1) / page) * page;
  void* p = nullptr;
  if (posix_memalign(&p, page, alloc_) != 0 || !p) throw std::bad_alloc();
  data_ = static_cast<char*>(p);
  // Locked pages stay out of swap; a low RLIMIT_MEMLOCK only loses that protection.
  locked_ = mlock(data_, alloc_) == 0;
#ifdef MADV_DONTDUMP
  madvise(data_, alloc_, MADV_DONTDUMP);
#endif
  if (size_) std::memcpy(data_, bytes.data(), size_);
}

Secret::~Secret() {
  OPENSSL_cleanse(data_, alloc_);
  if (locked_) munlock(data_, alloc_);
  std::free(data_);
}

std::string materialAad(std::string_view account, std::string_view region, std::string_view key_id,
                        uint32_t version) {
  std::string aad = "kms-material:";
  aad.append(account).append("/").append(region).append("/").append(key_id);
  aad.append("/").append(std::to_string(version));
  return aad;
}

void storeMaterial(runtime::Services& s, store::Tx& tx, const KeyRecord& k, uint32_t version,
                   std::string_view material) {
  std::string sealed =
      s.barrier.seal(material, materialAad(k.account_id, k.region, k.key_id, version));
  tx.exec(
      "INSERT INTO kms_key_material (account_id, region, key_id, version, sealed, created_ms) "
      "VALUES (?, ?, ?, ?, ?, ?)",
      {k.account_id, k.region, k.key_id, int64_t{version}, store::Blob{std::move(sealed)},
       toEpochMillis(Clock::now())});
}

std::shared_ptr<const Secret> CachedKey::material(runtime::Services& s, uint32_t version) const {
  {
    std::shared_lock lock(mu_);
    auto it = versions_.find(version);
    if (it != versions_.end()) return it->second;
  }
  const char* sql =
      "SELECT sealed FROM kms_key_material WHERE account_id = ? AND region = ? AND key_id = ? "
      "AND version = ?";
  std::vector<store::Value> params{record.account_id, record.region, record.key_id,
                                   int64_t{version}};
  std::vector<store::Row> rows;
  if (tx_) {
    rows = tx_->query(sql, params);
  } else {
    auto tx = s.store.begin(false);
    rows = tx->query(sql, params);
    tx->rollback();
  }
  if (rows.empty()) return nullptr;
  auto plain = s.barrier.open(
      rows[0].text(0), materialAad(record.account_id, record.region, record.key_id, version));
  if (!plain) return nullptr;
  auto secret = std::make_shared<const Secret>(*plain);
  crypto::wipe(*plain);
  std::unique_lock lock(mu_);
  auto [it, inserted] = versions_.emplace(version, std::move(secret));
  return it->second;
}

std::string KeyCache::cacheKey(std::string_view a, std::string_view r, std::string_view id) {
  std::string k;
  k.reserve(a.size() + r.size() + id.size() + 2);
  k.append(a).append(1, '/').append(r).append(1, '/').append(id);
  return k;
}

std::shared_ptr<const CachedKey> KeyCache::find(std::string_view account, std::string_view region,
                                                std::string_view key_id) const {
  std::string k = cacheKey(account, region, key_id);
  std::shared_lock lock(mu_);
  auto it = keys_.find(k);
  return it == keys_.end() ? nullptr : it->second;
}

std::optional<std::string> KeyCache::findAlias(std::string_view account, std::string_view region,
                                               std::string_view alias) const {
  std::string k = cacheKey(account, region, alias);
  std::shared_lock lock(mu_);
  auto it = aliases_.find(k);
  if (it == aliases_.end()) return std::nullopt;
  return it->second;
}

void KeyCache::insert(std::shared_ptr<const CachedKey> key, uint64_t gen) {
  std::string k = cacheKey(key->record.account_id, key->record.region, key->record.key_id);
  std::unique_lock lock(mu_);
  if (generation_.load(std::memory_order_acquire) != gen) return;
  if (keys_.size() >= kCapacity) keys_.clear();
  keys_[std::move(k)] = std::move(key);
}

void KeyCache::insertAlias(std::string_view account, std::string_view region,
                           std::string_view alias, std::string key_id, uint64_t gen) {
  std::string k = cacheKey(account, region, alias);
  std::unique_lock lock(mu_);
  if (generation_.load(std::memory_order_acquire) != gen) return;
  if (aliases_.size() >= kCapacity) aliases_.clear();
  aliases_[std::move(k)] = std::move(key_id);
}

void KeyCache::invalidateKey(std::string_view account, std::string_view region,
                             std::string_view key_id) {
  std::string k = cacheKey(account, region, key_id);
  std::shared_ptr<const CachedKey> dropped;  // released (and wiped) outside the lock
  std::unique_lock lock(mu_);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  auto it = keys_.find(k);
  if (it != keys_.end()) {
    dropped = std::move(it->second);
    keys_.erase(it);
  }
}

void KeyCache::invalidateAliases() {
  std::unique_lock lock(mu_);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  aliases_.clear();
}

void KeyCache::clear() {
  std::unordered_map<std::string, std::shared_ptr<const CachedKey>> dropped;
  std::unique_lock lock(mu_);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  dropped.swap(keys_);
  aliases_.clear();
}

size_t KeyCache::size() const {
  std::shared_lock lock(mu_);
  return keys_.size();
}

KeyCache& keyCache() {
  static KeyCache cache;
  return cache;
}

Result<std::shared_ptr<const CachedKey>> cachedKey(runtime::Services& s, std::string_view account,
                                                   std::string_view region,
                                                   std::string_view key_id) {
  KeyCache& cache = keyCache();
  if (auto hit = cache.find(account, region, key_id)) return hit;
  // The generation is read before the snapshot is taken: a change committed after this point
  // bumps it and the (possibly stale) fill is not inserted.
  uint64_t gen = cache.generation();
  auto tx = s.store.begin(false);
  auto rec = loadKey(*tx, account, region, key_id);
  tx->rollback();
  if (!rec) return keyNotFound(keyArn(account, region, key_id));
  auto entry = std::make_shared<const CachedKey>(std::move(*rec));
  cache.insert(entry, gen);
  return entry;
}

}  // namespace citadel::kms
