// The session_data cookie cache (contract §3.4), checked with better-auth's own code:
// `getCookieCache` from "better-auth/cookies" (what a Next.js middleware calls) must accept
// the cookies the server issues, and cookies sealed by better-auth's own functions with the
// same secret must work on the server.
//
// The suite talks to one server configured one way, so this file reads that configuration
// from the environment and skips itself when the server's cookie cache is off:
//   AUTHLOG_COOKIE_CACHE_STRATEGY  compact (default) | jwt | jwe
//   AUTHLOG_COOKIE_CACHE_VERSION   the server's cookie_cache.version (default "1")
//   BETTER_AUTH_SECRET             the server's secret (required when the cache is on)
//   COMPAT_TARGET=better-auth      the server is the reference Better Auth: skips the one
//                                  check where authlog is deliberately stricter (revocation)
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { getCookieCache } from "better-auth/cookies";
import { signJWT, symmetricEncodeJWT } from "better-auth/crypto";
import { signUpNew, mustGetSession, ok, SESSION_COOKIE } from "../lib/harness.mjs";

const STRATEGY = process.env.AUTHLOG_COOKIE_CACHE_STRATEGY || "compact";
const VERSION = process.env.AUTHLOG_COOKIE_CACHE_VERSION || "1";
const SECRET = process.env.BETTER_AUTH_SECRET;
const CACHE_COOKIE = "better-auth.session_data";
const AGAINST_BETTER_AUTH = process.env.COMPAT_TARGET === "better-auth";

/** Whether a Set-Cookie line sets or expires the cache cookie or one of its chunks. */
const isCacheLine = (line) => line.startsWith(`${CACHE_COOKIE}=`) || line.startsWith(`${CACHE_COOKIE}.`);

// Probe: a sign-up on a server with the cache on sets session_data (or its chunks).
const probe = await signUpNew({ tag: "cache-probe" });
const CACHE_ON = probe.jar.lastSetCookie.some(isCacheLine);
const SKIP = CACHE_ON
  ? false
  : "the server's cookie cache is off (start it with AUTHLOG_COOKIE_CACHE_ENABLED=true to run these)";

/** What better-auth's getCookieCache makes of a jar's cookies. */
function readCache(jar, { secret = SECRET, version = VERSION, strategy = STRATEGY } = {}) {
  const headers = new Headers({ cookie: jar.header() });
  return getCookieCache(headers, { secret, strategy, version });
}

/** The cache cookie value a Better Auth server with this secret would issue for `payload`. */
async function sealLikeBetterAuth(payload, maxAge = 300) {
  if (STRATEGY === "jwt") return signJWT(payload, SECRET, maxAge);
  if (STRATEGY === "jwe") return symmetricEncodeJWT(payload, SECRET, "better-auth-session", maxAge);
  const expiresAt = Date.now() + maxAge * 1000;
  const signature = createHmac("sha256", SECRET)
    .update(JSON.stringify({ ...payload, expiresAt }))
    .digest("base64url");
  return Buffer.from(JSON.stringify({ session: payload, expiresAt, signature })).toString("base64url");
}

/** Replaces the jar's cache cookie (and any chunks) with one cookie holding `value`. */
function putCacheCookie(jar, value) {
  for (const name of [...jar.cookies.keys()]) if (name.startsWith(CACHE_COOKIE)) jar.cookies.delete(name);
  jar.cookies.set(CACHE_COOKIE, value);
}

describe(`cookie cache (${STRATEGY}), read by better-auth's getCookieCache`, { skip: SKIP }, () => {
  test("the secret is known", () => {
    assert.ok(SECRET, "BETTER_AUTH_SECRET must be set to the server's secret to check its cookie cache");
  });

  test("the cookie issued at sign-up is accepted and holds the session", async () => {
    const payload = await readCache(probe.jar);
    assert.ok(payload, `getCookieCache refused the ${STRATEGY} cookie`);
    assert.equal(payload.session.token, probe.data.token);
    assert.equal(payload.session.userId, probe.user.id);
    assert.equal(payload.user.id, probe.user.id);
    assert.equal(payload.user.email, probe.email);
    assert.equal(payload.version, VERSION);
    assert.ok(payload.session.expiresAt instanceof Date, "dates are revived");
    assert.equal(typeof payload.updatedAt, "number");
    // And getSession answers the same session.
    const { session, user } = await mustGetSession(probe.client);
    assert.equal(session.id, payload.session.id);
    assert.equal(user.name, payload.user.name);
  });

  test("a wrong secret or another version is refused (the check can fail)", async () => {
    assert.equal(await readCache(probe.jar, { secret: "not-the-secret-not-the-secret-xx" }), null);
    assert.equal(await readCache(probe.jar, { version: `not-${VERSION}` }), null);
  });

  test("update-user re-issues the cookie with the new name", async () => {
    const { client, jar } = await signUpNew({ tag: "cache-rename" });
    ok(await client.updateUser({ name: "Cache Renamed" }), "update-user");
    const payload = await readCache(jar);
    assert.equal(payload?.user.name, "Cache Renamed");
  });

  test("a large session is chunked, and the joined chunks are accepted", async () => {
    const name = "n".repeat(6000);
    const { jar } = await signUpNew({ tag: "cache-chunks", name });
    const chunks = [...jar.cookies.keys()].filter((n) => n.startsWith(`${CACHE_COOKIE}.`));
    assert.ok(chunks.length >= 2, `expected chunks, got ${[...jar.cookies.keys()]}`);
    assert.ok(!jar.has(CACHE_COOKIE));
    const payload = await readCache(jar);
    assert.equal(payload?.user.name, name);
  });

  test("a cookie sealed by better-auth's own code is a cache hit on the server", async () => {
    const { client, jar } = await signUpNew({ tag: "cache-sealed" });
    const payload = await readCache(jar);
    const { session, user } = payload;
    putCacheCookie(jar, await sealLikeBetterAuth({ session, user, updatedAt: Date.now(), version: VERSION }));
    const res = await client.getSession();
    assert.equal(res.data?.session.token, session.token);
    assert.ok(!jar.lastSetCookie.some(isCacheLine), `a hit sets no cache cookie: ${jar.lastSetCookie}`);
  });

  test("after a version bump the old cookie is refused and replaced; getSession keeps working", async () => {
    const { client, jar } = await signUpNew({ tag: "cache-version" });
    const { session, user } = await readCache(jar);
    // A cookie from before the bump: valid in every other respect.
    const old = { session, user, updatedAt: Date.now(), version: `before-${VERSION}` };
    putCacheCookie(jar, await sealLikeBetterAuth(old));
    assert.equal(await readCache(jar), null);
    const res = await client.getSession();
    assert.equal(res.error, null);
    assert.equal(res.data?.session.token, session.token, "the session survives");
    assert.equal(jar.lastSetCookie[0], `${CACHE_COOKIE}=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax`);
    const renewed = await readCache(jar);
    assert.equal(renewed?.version, VERSION, "replaced by a cookie of the current version");
    assert.equal(renewed.session.token, session.token);
  });

  const betterAuthAnswersFromTheCookie = AGAINST_BETTER_AUTH
    ? "Better Auth keeps answering from the cookie until it expires"
    : false;
  test("a signed-out session's cookie is refused by the server at once", { skip: betterAuthAnswersFromTheCookie }, async () => {
    const { client, jar } = await signUpNew({ tag: "cache-revoked" });
    const stolen = new Map(jar.cookies);
    ok(await client.signOut(), "sign-out");
    // Replay the cookies held before signing out: the cache cookie is still unexpired.
    for (const [name, value] of stolen) jar.cookies.set(name, value);
    assert.ok(await readCache(jar), "the replayed cookie is still valid on its own");
    const res = await client.getSession();
    assert.equal(res.error, null);
    assert.equal(res.data, null, "authlog checks its revocation set before trusting the cookie");
    assert.ok(!jar.has(SESSION_COOKIE));
  });
});
