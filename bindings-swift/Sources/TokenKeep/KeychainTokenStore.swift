#if canImport(Security)
import Foundation
import Security

/// Keeps each account's token record as a generic-password item in the
/// Keychain: service `service`, account = the session's account id.
///
/// Items are readable after the first unlock following a restart and never
/// leave the device (`kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly`, so
/// background refreshes work while the screen is locked). Give
/// `accessGroup` to share the tokens with the app's extensions; `lock` does
/// nothing across processes (the core locks within one), so let one process
/// refresh, or wrap it in a store with a cross-process lock. On macOS the
/// data-protection keychain is used, which needs the app to be signed with a
/// keychain access group; pass `useDataProtectionKeychain: false` for
/// unsigned command-line tools.
///
/// ```swift
/// options.store = KeychainTokenStore(service: "com.example.app.tokens")
/// ```
public final class KeychainTokenStore: TokenStore {
    /// The `kSecAttrService` of every item this store writes.
    public let service: String
    /// The keychain access group shared with extensions, if any.
    public let accessGroup: String?
    private let accessibility: String
    private let useDataProtectionKeychain: Bool

    /// A store writing items of `service` (say, your bundle id + ".tokens").
    public init(
        service: String, accessGroup: String? = nil,
        accessibility: CFString = kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly, useDataProtectionKeychain: Bool = true
    ) {
        self.service = service
        self.accessGroup = accessGroup
        self.accessibility = accessibility as String
        self.useDataProtectionKeychain = useDataProtectionKeychain
    }

    /// The record of `key`, or nil when there is none.
    public func load(key: String) throws -> Data? {
        var query = itemQuery(key)
        query[kSecReturnData as String] = true
        query[kSecMatchLimit as String] = kSecMatchLimitOne
        var result: CFTypeRef?
        let status = SecItemCopyMatching(query as CFDictionary, &result)
        if status == errSecItemNotFound { return nil }
        guard status == errSecSuccess else { throw failure(status, doing: "reading", key: key) }
        guard let data = result as? Data else {
            throw StoreError.Corrupt(detail: "the Keychain item of key `\(key)` in service `\(service)` holds no data")
        }
        return data
    }

    /// Replaces (or adds) the record of `key`.
    public func save(key: String, record: Data) throws {
        let attributes: [String: Any] = [kSecValueData as String: record, kSecAttrAccessible as String: accessibility]
        var status = SecItemUpdate(itemQuery(key) as CFDictionary, attributes as CFDictionary)
        if status == errSecItemNotFound {
            status = SecItemAdd(itemQuery(key).merging(attributes) { _, new in new } as CFDictionary, nil)
        }
        guard status == errSecSuccess else { throw failure(status, doing: "writing", key: key) }
    }

    /// Removes the record of `key`; a missing one is not an error.
    public func delete(key: String) throws {
        let status = SecItemDelete(itemQuery(key) as CFDictionary)
        guard status == errSecSuccess || status == errSecItemNotFound else { throw failure(status, doing: "deleting", key: key) }
    }

    private func itemQuery(_ key: String) -> [String: Any] {
        var query: [String: Any] = [
            kSecClass as String: kSecClassGenericPassword, kSecAttrService as String: service, kSecAttrAccount as String: key,
        ]
        if let accessGroup { query[kSecAttrAccessGroup as String] = accessGroup }
        if useDataProtectionKeychain { query[kSecUseDataProtectionKeychain as String] = true }
        return query
    }

    /// A Keychain status as a `StoreError` naming the item, never its data.
    /// `errSecInteractionNotAllowed` (locked before the first unlock) is an
    /// I/O failure: tokens stay in place and a later call may work.
    private func failure(_ status: OSStatus, doing: String, key: String) -> StoreError {
        let reason = (SecCopyErrorMessageString(status, nil) as String?) ?? "unknown status"
        return .Io(detail: "Keychain \(doing) key `\(key)` in service `\(service)` failed: \(reason) (OSStatus \(status))")
    }
}
#endif
