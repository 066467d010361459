import dev.tokenkeep.TokenKeeper;
import dev.tokenkeep.ffi.ManualClock;
import dev.tokenkeep.ffi.SessionState;
import dev.tokenkeep.ffi.TokenKeeperOptions;

/**
 * Loads tokenkeep from the packaged JAR alone (run by run-tests.sh with the
 * JAR and its runtime dependencies on the class path, nothing on any
 * library path): the native library must come out of the JAR.
 */
public class JarSmoke {
    public static void main(String[] args) throws Exception {
        if (System.getProperty("jna.library.path") != null) throw new AssertionError("jna.library.path is set");
        TokenKeeperOptions options = TokenKeeper.options("https://auth.example.com/oauth/token", "smoke");
        options.setClock(new ManualClock());
        try (TokenKeeper keeper = new TokenKeeper(options)) {
            keeper.setTokenResponse("{\"access_token\":\"at_smoke\",\"token_type\":\"Bearer\",\"expires_in\":3600}").close();
            if (!"at_smoke".equals(keeper.accessTokenBlocking())) throw new AssertionError("wrong token");
            if (keeper.state() != SessionState.VALID) throw new AssertionError("state " + keeper.state());
        }
        String from = JarSmoke.class.getClassLoader().getResource("linux-x86-64/libtokenkeep.so") != null
                ? "linux-x86-64/libtokenkeep.so in the JAR" : "?";
        System.out.println("JAR smoke test passed: native library loaded from " + from);
    }
}
