package dev.tokenkeep;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tokenkeep.okhttp.TokenKeepIOException;
import dev.tokenkeep.okhttp.TokenKeepOkHttp;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Java-facing API, used from Java: builder, blocking and future calls, exceptions, a store, OkHttp. */
class JavaApiTest {
    /** A store written in Java: only load, save and delete; the base class locks. */
    static final class MapStore extends SimpleTokenStore {
        final Map<String, byte[]> records = new ConcurrentHashMap<>();

        @Override
        public byte[] load(String key) {
            return records.get(key);
        }

        @Override
        public void save(String key, byte[] record) {
            records.put(key, record);
        }

        @Override
        public void delete(String key) {
            records.remove(key);
        }
    }

    private static TokenSession session(FixtureServer fixture, TokenStore store) throws TokenKeepException {
        return TokenSession.builder(fixture.url("/token"), "public-app")
                .authorizationEndpoint(fixture.url("/authorize"))
                .revocationEndpoint(fixture.url("/revoke"))
                .redirectUri(FixtureServer.REDIRECT_URI)
                .apiOrigins(fixture.getBaseUrl())
                .accountId("user-42")
                .store(store)
                .initialBackoffMillis(10)
                .maxBackoffMillis(50)
                .build();
    }

    /** Signs in the way a Java app would: open the URL, take the callback, complete. */
    private static void signIn(TokenSession session, FixtureServer fixture) throws TokenKeepException {
        try (AuthorizationRequest request = session.getKeeper().authorizationRequest(Map.of())) {
            String callback = fixture.approve(request.url());
            try (TokenSet tokens = session.completeAuthorizationBlocking(request, callback)) {
                assertTrue(tokens.hasRefreshToken());
            }
        }
    }

    @Test
    void blockingAndFutureCallsAndTheExceptionsJavaCatches() throws Exception {
        try (FixtureServer fixture = new FixtureServer(); TokenSession session = session(fixture, new MapStore())) {
            // Not signed in yet: a checked exception Java can catch by its class.
            try {
                session.accessTokenBlocking();
                throw new AssertionError("expected NotSignedIn");
            } catch (TokenKeepException.NotSignedIn e) {
                assertTrue(e.getMessage().startsWith("not signed in"), e.getMessage());
                assertEquals("sign in", whatToDo(e));
            }
            ExecutionException failed = assertThrows(ExecutionException.class,
                    () -> session.accessTokenAsync().get(5, TimeUnit.SECONDS));
            assertInstanceOf(TokenKeepException.NotSignedIn.class, failed.getCause());

            signIn(session, fixture);
            String token = session.accessTokenBlocking();
            CompletableFuture<String> future = session.accessTokenAsync();
            assertEquals(token, future.get(5, TimeUnit.SECONDS));
            assertEquals(SessionState.VALID, session.state());
            assertFalse(session.toString().contains(token));

            String refreshed = session.refreshAsync().thenApply(tokens -> {
                try (tokens) {
                    return tokens.accessToken();
                }
            }).get(10, TimeUnit.SECONDS);
            assertNotEquals(token, refreshed);
            assertEquals(refreshed, session.accessTokenBlocking());
            assertEquals(1, fixture.refreshRequests());

            assertTrue(session.logoutAsync().get(10, TimeUnit.SECONDS).getFullyRevoked());
            assertThrows(TokenKeepException.NotSignedIn.class, session::accessTokenBlocking);
        }
    }

    /** The access token of [tokens], which it closes. */
    private static String accessTokenOf(TokenSet tokens) {
        try (tokens) {
            return tokens.accessToken();
        }
    }

    @Test
    void deviceSignInWithFuturesIntoASqliteStoreGivenToTheBuilder(@TempDir Path directory) throws Exception {
        byte[] key = new byte[32];
        for (int i = 0; i < key.length; i++) {
            key[i] = (byte) i;
        }
        String database = directory.resolve("tokens.sqlite3").toString();
        try (FixtureServer fixture = new FixtureServer()) {
            String renewed;
            try (SqliteStore store = SqliteStore.Companion.open(database, key);
                 TokenSession session = TokenSession.builder(fixture.url("/token"), "public-app")
                         .deviceAuthorizationEndpoint(fixture.url("/device_authorization"))
                         .store(store)
                         .accountId("tv-1")
                         .build()) {
                DeviceAuthorization device = session.startDeviceAuthorizationAsync().get(10, TimeUnit.SECONDS);
                assertEquals(fixture.url("/device"), device.verificationUri());
                // The user approves a second later; if that fails, the polling stops.
                CompletableFuture<Integer> approval = CompletableFuture.supplyAsync(
                        () -> fixture.approveDevice(device.userCode(), false),
                        CompletableFuture.delayedExecutor(1, TimeUnit.SECONDS));
                approval.whenComplete((status, error) -> {
                    if (error != null || status != 200) device.cancel();
                });
                String token = accessTokenOf(session.completeDeviceAuthorizationAsync(device).get(30, TimeUnit.SECONDS));
                assertEquals(200, approval.get(5, TimeUnit.SECONDS));
                assertEquals(token, session.accessTokenBlocking());
                assertEquals(java.util.List.of("tv-1"), store.accounts());

                // An API rejected the token: one refresh; the same rejection reported again finds it renewed.
                renewed = accessTokenOf(session.refreshIfRejectedAsync(token).get(10, TimeUnit.SECONDS));
                assertNotEquals(token, renewed);
                assertEquals(renewed, accessTokenOf(session.refreshIfRejectedAsync(token).get(10, TimeUnit.SECONDS)));
                assertEquals(renewed, session.accessTokenBlocking());
                assertEquals(1, fixture.refreshRequests());
            }

            int requests = fixture.tokenRequests();
            try (SqliteStore reopened = SqliteStore.Companion.open(database, key);
                 TokenSession again = TokenSession.builder(fixture.url("/token"), "public-app")
                         .store(reopened)
                         .accountId("tv-1")
                         .build()) {
                assertEquals(renewed, again.accessTokenBlocking());
            }
            assertEquals(requests, fixture.tokenRequests());
        }
    }

    @Test
    void aJavaStoreKeepsTheTokensForTheNextSession() throws Exception {
        try (FixtureServer fixture = new FixtureServer()) {
            MapStore store = new MapStore();
            String token;
            try (TokenSession first = session(fixture, store)) {
                signIn(first, fixture);
                token = first.accessTokenBlocking();
            }
            assertNotNull(store.records.get("user-42"));
            try (TokenSession second = session(fixture, store)) {
                assertEquals(token, second.accessTokenBlocking());
            }
        }
    }

    @Test
    void aJavaStoreReportsTypedFailures() throws Exception {
        try (FixtureServer fixture = new FixtureServer()) {
            SimpleTokenStore wrongKey = new SimpleTokenStore() {
                @Override
                public byte[] load(String key) {
                    throw SimpleTokenStore.fail(new StoreException.WrongKey("record `" + key + "` is sealed with key k1, not k2"));
                }

                @Override
                public void save(String key, byte[] record) {}

                @Override
                public void delete(String key) {}
            };
            TokenKeepException.Storage error = assertThrows(TokenKeepException.Storage.class,
                    () -> TokenSession.builder(fixture.config("public-app")).store(wrongKey).build());
            assertEquals(StorageErrorKind.WRONG_KEY, error.getKind());
            assertTrue(error.getMessage().contains("record `default` is sealed with key k1, not k2"), error.getMessage());
        }
    }

    @Test
    void okHttpFromJava() throws Exception {
        try (FixtureServer fixture = new FixtureServer(); TokenSession session = session(fixture, new MapStore())) {
            OkHttpClient client = TokenKeepOkHttp.authorizedBy(new OkHttpClient.Builder(), session).build();
            Request me = new Request.Builder().url(fixture.url("/api/me")).build();
            assertThrows(TokenKeepIOException.class, () -> client.newCall(me).execute().close());

            signIn(session, fixture);
            fixture.admin("/admin/expire-access-tokens", "{}");
            try (Response response = client.newCall(me).execute()) {
                assertEquals(200, response.code());
            }
            assertEquals(1, fixture.refreshRequests());
        }
    }

    /** What a Java app does about an error: instanceof over the sealed classes. */
    static String whatToDo(TokenKeepException e) {
        if (TokenKeepErrors.getNeedsSignIn(e)) {
            return "sign in";
        } else if (e instanceof TokenKeepException.Transient) {
            Long wait = TokenKeepErrors.getRetryAfterSeconds((TokenKeepException.Transient) e);
            return wait == null ? "retry later" : "retry in " + wait + " s";
        } else if (e instanceof TokenKeepException.Storage) {
            return "check the store: " + ((TokenKeepException.Storage) e).getKind();
        }
        return "report: " + e.getMessage();
    }

    @Test
    void errorsReadFromJava() {
        TokenKeepException.Storage storage = new TokenKeepException.Storage(StorageErrorKind.IO, "disk full");
        assertEquals(StorageErrorKind.IO, storage.getKind());
        assertEquals("disk full", storage.getDetail());
        assertEquals("token store error (io): disk full", storage.getMessage());
        assertEquals("check the store: IO", whatToDo(storage));
        assertEquals("sign in", whatToDo(new TokenKeepException.SessionExpired("revoked")));
        assertEquals("report: configuration error: bad URL", whatToDo(new TokenKeepException.Configuration("bad URL")));
    }
}
