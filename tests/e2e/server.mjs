// node-oidc-provider configured for tokenkeep's end-to-end tests.
//
// A real, third-party OAuth 2.0 / OpenID Connect server (oidc-provider,
// pinned in package.json) on 127.0.0.1 and a random free port, with:
//   * short lifetimes: access tokens 3 s, refresh tokens 30 s;
//   * refresh-token rotation for every client, and reuse detection (a spent
//     refresh token revokes its grant);
//   * authorization code + PKCE (S256 required), client_credentials,
//     device authorization (RFC 8628), revocation, introspection;
//   * sign-in without a browser: GET /test/sign-in?url=<authorization URL>
//     follows the provider's redirects server-side, signs in as `test-user`
//     and answers {"callback_url": "..."}; POST /test/approve-device with
//     user_code=... approves a device sign-in as `test-user`;
//   * GET /test/stats: token-endpoint grants by type, the fixture server's
//     shape ({"token_requests": {"refresh_token": n, ...}}).
//
// Clients:
//   e2e-public      public (none), redirect dev.tokenkeep.e2e:/callback,
//                   authorization_code + refresh_token + device_code
//   e2e-m2m         secret e2e-m2m-secret, client_credentials
//   e2e-resource    secret e2e-resource-secret, for introspection in tests
//
// Prints exactly one line, `listening on http://127.0.0.1:PORT`, and runs
// until SIGTERM/SIGINT or until stdin closes (pass --no-stdin-watch to keep
// running with stdin at EOF).
import http from 'node:http';
import Provider from 'oidc-provider';

const ACCOUNT = 'test-user';
const REDIRECT_URI = 'dev.tokenkeep.e2e:/callback';
const stats = { total: 0, refresh_token: 0, client_credentials: 0, authorization_code: 0, device_code: 0, other: 0 };

const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'e2e-public',
      application_type: 'native',
      token_endpoint_auth_method: 'none',
      redirect_uris: [REDIRECT_URI],
      grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
      response_types: ['code'],
    },
    {
      client_id: 'e2e-m2m',
      client_secret: 'e2e-m2m-secret',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
    },
    {
      client_id: 'e2e-resource',
      client_secret: 'e2e-resource-secret',
      grant_types: [],
      response_types: [],
      redirect_uris: [],
    },
  ],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    deviceFlow: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
  },
  pkce: { required: () => true, methods: ['S256'] },
  scopes: ['openid', 'offline_access'],
  ttl: {
    AccessToken: 3,
    ClientCredentials: 3,
    RefreshToken: 30,
    AuthorizationCode: 60,
    DeviceCode: 120,
    Grant: 3600,
    Interaction: 600,
    Session: 3600,
    IdToken: 3600,
  },
  rotateRefreshToken: true,
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  findAccount: async (ctx, id) => ({ accountId: id, claims: async () => ({ sub: id }) }),
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  // Consent is implied: every requested scope is granted.
  loadExistingGrant: async (ctx) => {
    const existing = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (existing) return ctx.oidc.provider.Grant.find(existing);
    const grant = new ctx.oidc.provider.Grant({ accountId: ctx.oidc.session.accountId, clientId: ctx.oidc.client.clientId });
    grant.addOIDCScope(ctx.oidc.params.scope || 'openid');
    await grant.save();
    return grant;
  },
});
provider.proxy = false;

for (const event of ['grant.success', 'grant.error']) {
  provider.on(event, (ctx) => {
    const type = String(ctx.oidc?.params?.grant_type || '');
    const key = type.endsWith(':device_code') ? 'device_code' : type;
    stats.total += 1;
    stats[key in stats && key !== 'total' ? key : 'other'] += 1;
  });
}

function json(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

async function readForm(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return new URLSearchParams(body);
}

// Follows the provider's redirects like a browser with a cookie jar,
// finishing the login interaction as `test-user`, until the redirect URI.
async function signIn(authorizationUrl) {
  const cookies = new Map();
  let url = authorizationUrl;
  for (let hop = 0; hop < 10; hop += 1) {
    if (url.startsWith(REDIRECT_URI)) return url;
    const response = await fetch(new URL(url, issuer), {
      redirect: 'manual',
      headers: { cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; ') },
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const at = pair.indexOf('=');
      cookies.set(pair.slice(0, at).trim(), pair.slice(at + 1));
    }
    const location = response.headers.get('location');
    if (!location) throw new Error(`sign-in stopped at HTTP ${response.status} without a redirect`);
    url = location;
  }
  throw new Error('sign-in did not reach the redirect URI in 10 redirects');
}

async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  const result = details.prompt.name === 'login'
    ? { login: { accountId: details.params.login_hint || ACCOUNT } }
    : { consent: {} };
  await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: true });
}

async function approveDevice(userCode) {
  // The provider stores user codes normalised: upper case, no separators.
  const code = await provider.DeviceCode.findByUserCode(userCode.replace(/[^a-z0-9]/gi, '').toUpperCase());
  if (!code) return false;
  const grant = new provider.Grant({ accountId: ACCOUNT, clientId: code.clientId });
  grant.addOIDCScope(code.scope || 'openid');
  code.grantId = await grant.save();
  code.accountId = ACCOUNT;
  code.authTime = Math.floor(Date.now() / 1000);
  await code.save();
  return true;
}

const handle = provider.callback();
server.on('request', async (req, res) => {
  const { pathname, searchParams } = new URL(req.url, issuer);
  try {
    if (req.method === 'GET' && pathname === '/test/stats') return json(res, 200, { token_requests: stats });
    if (req.method === 'GET' && pathname === '/test/sign-in') {
      return json(res, 200, { callback_url: await signIn(searchParams.get('url') || '') });
    }
    if (req.method === 'POST' && pathname === '/test/approve-device') {
      const approved = await approveDevice((await readForm(req)).get('user_code') || '');
      return json(res, approved ? 200 : 400, approved ? { approved: true } : { error: 'unknown user_code' });
    }
    if (req.method === 'GET' && pathname.startsWith('/interaction/')) return await interaction(req, res);
  } catch (error) {
    return json(res, 500, { error: 'test_endpoint_failed', error_description: String(error.message || error) });
  }
  return handle(req, res);
});

process.stdout.write(`listening on ${issuer}\n`);
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
if (!process.argv.includes('--no-stdin-watch')) {
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
}
