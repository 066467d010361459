import dev.tokenkeep.ManualClock;
import dev.tokenkeep.SessionState;
import dev.tokenkeep.TokenSession;

/**
 * Loads tokenkeep from the packaged JAR alone (run by run-tests.sh with the
 * JAR and its runtime dependencies on the class path, nothing on any
 * library path): the native library must come out of the JAR.
 */
public class JarSmoke {
    public static void main(String[] args) throws Exception {
        if (System.getProperty("jna.library.path") != null) throw new AssertionError("jna.library.path is set");
        try (TokenSession session = TokenSession.builder("https://auth.example.com/oauth/token", "smoke")
                .manualClock(new ManualClock())
                .build()) {
            session.setTokenResponse("{\"access_token\":\"at_smoke\",\"token_type\":\"Bearer\",\"expires_in\":3600}").close();
            if (!"at_smoke".equals(session.accessTokenBlocking())) throw new AssertionError("wrong token");
            if (session.state() != SessionState.VALID) throw new AssertionError("state " + session.state());
        }
        String from = JarSmoke.class.getClassLoader().getResource("linux-x86-64/libtokenkeep.so") != null
                ? "linux-x86-64/libtokenkeep.so in the JAR" : "?";
        System.out.println("JAR smoke test passed: native library loaded from " + from);
    }
}
