package dev.tokenkeep;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenkeep.ffi.AccountRegistry;
import dev.tokenkeep.ffi.AuthorizationRequest;
import dev.tokenkeep.ffi.ChangeReason;
import dev.tokenkeep.ffi.ClientAuthMethod;
import dev.tokenkeep.ffi.DeviceAuthorization;
import dev.tokenkeep.ffi.EncryptedFileStore;
import dev.tokenkeep.ffi.HttpHeader;
import dev.tokenkeep.ffi.HttpRequest;
import dev.tokenkeep.ffi.HttpResponse;
import dev.tokenkeep.ffi.LogLevel;
import dev.tokenkeep.ffi.LogRecord;
import dev.tokenkeep.ffi.LogSink;
import dev.tokenkeep.ffi.LogoutOutcome;
import dev.tokenkeep.ffi.ManualClock;
import dev.tokenkeep.ffi.RefreshFailure;
import dev.tokenkeep.ffi.RefreshPolicy;
import dev.tokenkeep.ffi.ResponseMapping;
import dev.tokenkeep.ffi.SessionListener;
import dev.tokenkeep.ffi.SessionState;
import dev.tokenkeep.ffi.SqliteStore;
import dev.tokenkeep.ffi.StorageErrorKind;
import dev.tokenkeep.ffi.StoreException;
import dev.tokenkeep.ffi.SweepCounts;
import dev.tokenkeep.ffi.SweepOptions;
import dev.tokenkeep.ffi.SweepProgress;
import dev.tokenkeep.ffi.SweepSummary;
import dev.tokenkeep.ffi.TokenCache;
import dev.tokenkeep.ffi.TokenKeepException;
import dev.tokenkeep.ffi.TokenKeeperOptions;
import dev.tokenkeep.ffi.TokenLease;
import dev.tokenkeep.ffi.TokenRevocation;
import dev.tokenkeep.ffi.TokenSet;
import dev.tokenkeep.ffi.TokenStore;
import dev.tokenkeep.ffi.TokensChanged;
import dev.tokenkeep.ffi.TokenkeepKt;
import dev.tokenkeep.okhttp.TokenKeepIOException;
import dev.tokenkeep.okhttp.TokenKeepOkHttp;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The API from Java (issue 12): every public method of TokenKeeper in its
 * blocking form, of the stores, TokenSet and the options; every foreign
 * interface (TokenStore with lock/unlock, SessionListener, TokenCache,
 * LogSink) implemented in Java; against the fixture server.
 */
class JavaApiTest {
    /** A Java store implementing the generated interface itself, lock and unlock included. */
    static final class MapStore implements TokenStore {
        final Map<String, byte[]> records = new ConcurrentHashMap<>();
        final List<String> calls = new CopyOnWriteArrayList<>();

        @Override public byte[] load(String key) { calls.add("load"); return records.get(key); }
        @Override public void save(String key, byte[] record) { calls.add("save"); records.put(key, record); }
        @Override public void delete(String key) { calls.add("delete"); records.remove(key); }
        @Override public void lock(String key, long timeoutMs) { calls.add("lock " + timeoutMs); }
        @Override public void unlock(String key) { calls.add("unlock"); }
    }

    static final class Listener implements SessionListener {
        final List<TokensChanged> changed = new CopyOnWriteArrayList<>();
        final List<String> expired = new CopyOnWriteArrayList<>();
        final List<RefreshFailure> failed = new CopyOnWriteArrayList<>();

        @Override public void onTokensChanged(TokensChanged event) { changed.add(event); }
        @Override public void onSessionExpired(String reason) { expired.add(reason); }
        @Override public void onRefreshFailed(RefreshFailure failure) { failed.add(failure); }
    }

    static final class CountingCache implements TokenCache {
        final AtomicInteger invalidations = new AtomicInteger();

        @Override public void invalidate() { invalidations.incrementAndGet(); }
    }

    static final class Sink implements LogSink {
        final List<LogRecord> records = new CopyOnWriteArrayList<>();

        @Override public void log(LogRecord record) { records.add(record); }
    }

    /** Options set field by field, the way Java fills the record. */
    private static TokenKeeperOptions options(FixtureServer fixture, TokenStore store, SessionListener listener) {
        TokenKeeperOptions options = TokenKeeper.options(fixture.url("/token"), "public-app");
        options.setAuthorizationEndpoint(fixture.url("/authorize"));
        options.setRevocationEndpoint(fixture.url("/revoke"));
        options.setDeviceAuthorizationEndpoint(fixture.url("/device_authorization"));
        options.setRedirectUri(FixtureServer.REDIRECT_URI);
        options.setApiOrigins(List.of(fixture.getBaseUrl()));
        options.setAccountId("user-42");
        options.setScopes(List.of("read"));
        options.setAuthMethod(ClientAuthMethod.PUBLIC_CLIENT);
        options.setExtraTokenParams(Map.of());
        options.setClientCredentials(false);
        options.setResponseMapping(new ResponseMapping("access_token", "refresh_token", "token_type", "expires_in", null, null, null, "scope", "id_token"));
        options.setUnexplainedRefusalEndsSession(true);
        options.setStore(store);
        options.setListener(listener);
        RefreshPolicy policy = options.getPolicy();
        policy.setInitialBackoffMs(10);
        policy.setMaxBackoffMs(50);
        policy.setMaxRetries(1);
        policy.setStoreLockTimeoutMs(1_234);
        return options;
    }

    private static String accessTokenOf(TokenSet tokens) {
        try (tokens) {
            return tokens.accessToken();
        }
    }

    @Test
    void everyKeeperMethodFromJava() throws Exception {
        MapStore store = new MapStore();
        Listener listener = new Listener();
        try (FixtureServer fixture = new FixtureServer();
             TokenKeeper keeper = new TokenKeeper(options(fixture, store, listener))) {
            assertEquals("user-42", keeper.accountId());
            assertEquals(List.of(fixture.getBaseUrl()), keeper.apiOrigins());
            assertTrue(keeper.maySendTokenTo(fixture.url("/api/me")));
            assertFalse(keeper.maySendTokenTo("https://elsewhere.example/api"));
            assertEquals(SessionState.EMPTY, keeper.state());
            assertNull(keeper.tokens());
            try {
                keeper.accessTokenBlocking();
                throw new AssertionError("expected NotSignedIn");
            } catch (TokenKeepException.NotSignedIn e) {
                assertEquals(e.toString(), e.getMessage());
                assertEquals("sign in", whatToDo(e));
            }

            // Sign-in with PKCE.
            String token;
            try (AuthorizationRequest request = keeper.authorizationRequest(Map.of("prompt", "login"))) {
                assertTrue(request.url().contains("prompt=login"));
                assertEquals(FixtureServer.REDIRECT_URI, request.redirectUri());
                assertFalse(request.state().isEmpty());
                assertTrue(request.codeVerifier().length() >= 43);
                String callback = fixture.approve(request.url());
                assertFalse(request.codeFromCallback(callback).isEmpty());
                token = accessTokenOf(keeper.completeAuthorizationBlocking(request, callback));
            }
            assertEquals(token, keeper.accessTokenBlocking());
            try (TokenLease lease = keeper.accessTokenLeaseBlocking()) {
                assertEquals(token, lease.accessToken());
                assertTrue(lease.validForMs() > 0);
            }
            try (TokenSet tokens = keeper.validTokensBlocking(60)) {
                assertEquals(token, tokens.accessToken());
                assertTrue(tokens.hasRefreshToken());
                assertNotNull(tokens.refreshToken());
                assertEquals("Bearer", tokens.tokenType());
                Instant expiresAt = tokens.expiresAt();
                assertEquals(tokens.expiresAtUnixMs(), Long.valueOf(expiresAt.toEpochMilli()));
                assertEquals(tokens.receivedAtUnixMs(), tokens.receivedAt().toEpochMilli());
                assertEquals(tokens.refreshTokenExpiresAtUnixMs() == null, tokens.refreshTokenExpiresAt() == null);
                assertEquals("read", tokens.scope());
                assertEquals(List.of("read"), tokens.scopes());
                assertNull(tokens.idToken());
                assertTrue(tokens.extraJson().startsWith("{"));
                assertFalse(tokens.isExpired());
                assertTrue(tokens.toJson().contains("\"expires_at\""));
                assertFalse(tokens.toString().contains(token));
            }
            assertFalse(keeper.hasUnsavedTokens());
            keeper.flush();

            // Refreshes, a 401 reported, tokens set by hand.
            String refreshed = accessTokenOf(keeper.refreshBlocking());
            assertNotEquals(token, refreshed);
            assertEquals(refreshed, accessTokenOf(keeper.refreshIfRejectedBlocking(token)), "already renewed: no refresh");
            assertEquals(1, fixture.refreshRequests());
            keeper.setTokens("at_by_hand", null, null, Instant.now().plusSeconds(600), null).close();
            assertEquals("at_by_hand", keeper.accessTokenBlocking());
            assertThrows(TokenKeepException.Configuration.class,
                    () -> keeper.setTokens("at", null, 60L, Instant.now(), null));
            
            keeper.setTokenResponse(fixture.signInTokens("public-app")).close();

            // A request sent by the core.
            HttpResponse response = keeper.sendBlocking(new HttpRequest("GET", fixture.url("/api/me"),
                    List.of(new HttpHeader("Accept", "application/json")), null));
            assertEquals(200, response.getStatus());
            assertTrue(new String(response.getBody(), StandardCharsets.UTF_8).contains("\"sub\""));

            // A Java TokenCache, told synchronously.
            CountingCache cache = new CountingCache();
            keeper.setTokenCache(cache);
            keeper.refreshBlocking().close();
            assertEquals(1, cache.invalidations.get(), "the refresh dropped the cache before it returned");
            keeper.setTokenCache(null);

            Listener second = new Listener();
            keeper.addListener(second);
            LogoutOutcome outcome = keeper.logoutBlocking();
            assertTrue(outcome.getFullyRevoked());
            assertTrue(outcome.getAccessToken() instanceof TokenRevocation.Revoked);
            assertEquals(SessionState.LOGGED_OUT, keeper.state());
            assertThrows(TokenKeepException.NotSignedIn.class, keeper::accessTokenBlocking);

            assertTrue(TokenkeepKt.flushListenerEvents(5_000));
            assertEquals(ChangeReason.LOGGED_OUT, second.changed.get(second.changed.size() - 1).getReason());
            assertNull(second.changed.get(second.changed.size() - 1).getTokens());
            assertTrue(listener.changed.size() >= 5, "sign-in, refresh, set, set, refresh, logout: " + listener.changed);
            assertTrue(store.calls.contains("lock 1234"), "the core called the Java lock with a long: " + store.calls);
            assertTrue(store.calls.contains("unlock") && store.calls.contains("delete"), store.calls.toString());
        }
    }

    @Test
    void deviceSignInFromJavaIntoASqliteStore(@TempDir Path directory) throws Exception {
        byte[] key = new byte[32];
        String database = directory.resolve("tokens.sqlite3").toString();
        try (FixtureServer fixture = new FixtureServer();
             SqliteStore store = SqliteStore.Companion.open(database, key)) {
            TokenKeeperOptions options = options(fixture, store.asTokenStore(), null);
            options.setAccountId("tv-1");
            try (TokenKeeper keeper = new TokenKeeper(options)) {
                DeviceAuthorization device = keeper.startDeviceAuthorizationBlocking();
                assertEquals(fixture.url("/device"), device.verificationUri());
                assertTrue(device.verificationUriComplete().contains(device.userCode()));
                assertTrue(device.expiresInSecs() > 0 && device.intervalSecs() >= 0);
                CountDownLatch approved = new CountDownLatch(1);
                Thread user = new Thread(() -> {
                    if (fixture.approveDevice(device.userCode(), false) == 200) approved.countDown(); else device.cancel();
                });
                user.start();
                String token = accessTokenOf(keeper.completeDeviceAuthorizationBlocking(device));
                user.join();
                assertEquals(0, approved.getCount());
                assertEquals(token, keeper.accessTokenBlocking());
                String code = fixture.signInTokens("public-app");
                assertThrows(TokenKeepException.Authorization.class, () -> keeper.exchangeCodeBlocking("not-a-code", "v".repeat(43)));
                assertNotNull(code);
            }
            assertEquals(List.of("tv-1"), store.accounts());
            assertFalse(store.keyId().isEmpty());
            assertEquals(0L, store.purgeUnusedSince(0));
            assertEquals(0L, store.purgeRefreshExpired(0));
            byte[] newKey = new byte[32];
            newKey[0] = 1;
            assertEquals(1L, store.rotateKey(newKey), "one account's record re-sealed");
            assertTrue(store.rotatePassphrase("a passphrase long enough") >= 1);
        }
    }

    @Test
    void registryAndSweepFromJava(@TempDir Path directory) throws Exception {
        try (FixtureServer fixture = new FixtureServer();
             SqliteStore store = SqliteStore.Companion.open(directory.resolve("registry.sqlite").toString(), new byte[32]);
             AccountRegistry registry = AccountRegistry.Companion.newOnSqlite(options(fixture, null, null), store, 2L)) {
            for (String user : List.of("ada", "bea", "cy")) {
                String answer = fixture.signInTokens("public-app")
                        .replaceAll("\"refresh_token_expires_in\"\\s*:\\s*\\d+", "\"refresh_token_expires_in\":600");
                try (dev.tokenkeep.ffi.TokenKeeper keeper = registry.keeper(user)) {
                    keeper.setTokenResponse(answer).close();
                }
            }
            assertEquals(2L, registry.hotSessions());
            assertEquals(List.of("ada", "bea", "cy"), registry.accounts());
            assertFalse(registry.accessTokenBlocking("ada").isEmpty());

            List<SweepCounts> seen = new CopyOnWriteArrayList<>();
            SweepProgress progress = seen::add;
            SweepSummary summary = registry.sweepBlocking(new SweepOptions(3_600L, null, 4, 20, 100), progress);
            assertEquals(3L, summary.getDue(), summary.toString());
            assertEquals(3L, summary.getRefreshed(), summary.toString());
            assertTrue(summary.getSignedOut().isEmpty() && summary.getFailed().isEmpty());
            assertEquals(3, fixture.refreshRequests());
            assertTrue(TokenkeepKt.flushListenerEvents(5_000));
            assertEquals(3L, seen.get(seen.size() - 1).getRefreshed());
            assertThrows(TokenKeepException.Configuration.class,
                    () -> registry.sweepBlocking(new SweepOptions(0L, null, 4, 20, 100), null));
        }
    }

    @Test
    void storesAndClockFromJava(@TempDir Path directory) throws Exception {
        try (EncryptedFileStore store = EncryptedFileStore.Companion.open(directory.toString(), new byte[32])) {
            assertEquals(0L, store.recordCount());
            assertFalse(store.keyId().isEmpty());
            assertEquals(0L, store.rotateKey(new byte[32]));
            assertEquals(0L, store.rotatePassphrase("a passphrase long enough"));
            assertNotNull(store.asTokenStore());
        }
        try (EncryptedFileStore store = EncryptedFileStore.Companion.openWithPassphrase(directory.resolve("p").toString(), "pass phrase")) {
            assertEquals(0L, store.recordCount());
        }
        try (SqliteStore store = SqliteStore.Companion.openWithPassphrase(directory.resolve("s.db").toString(), "pass phrase")) {
            assertEquals(List.of(), store.accounts());
        }
        TokenKeepException.Storage badKey = assertThrows(TokenKeepException.Storage.class,
                () -> EncryptedFileStore.Companion.open(directory.toString(), new byte[3]));
        assertEquals(badKey.toString(), badKey.getMessage());
        assertNotNull(TokenkeepKt.memoryStore());

        try (ManualClock clock = new ManualClock()) {
            clock.setUnixMs(1_000_000);
            clock.advanceSecs(10);
            clock.advanceMs(-500);
            assertEquals(1_009_500L, clock.nowUnixMs());
        }
    }

    @Test
    void aJavaLogSinkGetsTheCoreRecords() throws Exception {
        Sink sink = new Sink();
        try (FixtureServer fixture = new FixtureServer()) {
            assertTrue(TokenkeepKt.setLogSink(sink, LogLevel.DEBUG));
            TokenKeeperOptions options = options(fixture, null, null);
            options.getPolicy().setMaxRetries(0);
            try (ManualClock clock = new ManualClock(); TokenKeeper keeper = new TokenKeeper(options)) {
                keeper.setTokenResponse(fixture.signInTokens("public-app")).close();
                fixture.admin("/admin/faults", "{\"status\": 503}");
                assertThrows(TokenKeepException.Transient.class, keeper::refreshBlocking);
                assertTrue(TokenkeepKt.flushListenerEvents(5_000));
            }
            TokenkeepKt.setLogLevel(LogLevel.WARN);
            assertTrue(sink.records.stream().anyMatch(r -> r.getLevel() == LogLevel.WARN), sink.records.toString());
        } finally {
            TokenkeepKt.clearLogSink();
            assertTrue(TokenKeepLogging.install(), "the JVM logging adapter is back");
        }
    }

    @Test
    void aJavaStoreReportsTypedFailures() throws Exception {
        try (FixtureServer fixture = new FixtureServer()) {
            SimpleTokenStore wrongKey = new SimpleTokenStore() {
                @Override public byte[] load(String key) {
                    throw SimpleTokenStore.fail(new StoreException.WrongKey("record `" + key + "` is sealed with key k1, not k2"));
                }
                @Override public void save(String key, byte[] record) {}
                @Override public void delete(String key) {}
            };
            TokenKeeperOptions options = fixture.options("public-app");
            options.setStore(wrongKey);
            TokenKeepException.Storage error = assertThrows(TokenKeepException.Storage.class, () -> new TokenKeeper(options));
            assertEquals(StorageErrorKind.WRONG_KEY, error.getKind());
            assertTrue(error.getMessage().contains("record `default` is sealed with key k1, not k2"), error.getMessage());
            assertEquals("check the store: WRONG_KEY", whatToDo(error));
        }
    }

    @Test
    void okHttpFromJava() throws Exception {
        try (FixtureServer fixture = new FixtureServer();
             TokenKeeper keeper = new TokenKeeper(options(fixture, new MapStore(), null))) {
            OkHttpClient client = TokenKeepOkHttp.authorizedBy(new OkHttpClient.Builder(), keeper).build();
            Request me = new Request.Builder().url(fixture.url("/api/me")).build();
            TokenKeepIOException failure = assertThrows(TokenKeepIOException.class, () -> client.newCall(me).execute().close());
            assertTrue(failure.getError() instanceof TokenKeepException.NotSignedIn);

            keeper.setTokenResponse(fixture.signInTokens("public-app")).close();
            fixture.admin("/admin/expire-access-tokens", "{}");
            try (Response response = client.newCall(me).execute()) {
                assertEquals(200, response.code());
            }
            assertEquals(1, fixture.refreshRequests());
        }
    }

    /** What a Java app does about an error: instanceof over the sealed classes. */
    static String whatToDo(TokenKeepException e) {
        if (e instanceof TokenKeepException.SessionExpired || e instanceof TokenKeepException.NotSignedIn) {
            return "sign in";
        } else if (e instanceof TokenKeepException.Transient) {
            Long wait = ((TokenKeepException.Transient) e).getRetryAfterSecs();
            return wait == null ? "retry later" : "retry in " + wait + " s";
        } else if (e instanceof TokenKeepException.Storage) {
            return "check the store: " + ((TokenKeepException.Storage) e).getKind();
        }
        return "report: " + e.getMessage();
    }
}
