// Transport basics: /ok, unknown routes, anonymous get-session, seeded admin.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  makeClient,
  assertApiError,
  assertUser,
  assertSession,
  assertSessionCookieLine,
  mustGetSession,
  ok,
  SESSION_COOKIE,
  USER_AGENT,
} from "../lib/harness.mjs";

describe("basics", () => {
  test("GET /ok answers {ok:true}", async () => {
    const { client, jar } = makeClient();
    const data = ok(await client.$fetch("/ok"), "/ok");
    assert.deepEqual(data, { ok: true });
    assert.equal(jar.lastResponse.status, 200);
    assert.match(jar.lastResponse.headers.get("content-type") ?? "", /^application\/json/);
  });

  test("GET of an unknown endpoint is 404 with an empty body (no code, no message)", async () => {
    const { client, jar } = makeClient();
    const res = await client.$fetch("/definitely-not-an-endpoint");
    assertApiError(res, 404, null);
    assert.equal(res.error.message, undefined);
    assert.deepEqual(Object.keys(res.error).sort(), ["status", "statusText"]);
    assert.equal(jar.lastSetCookie.length, 0);
  });

  test("a trailing slash is significant: GET /get-session/ is 404", async () => {
    const { client } = makeClient();
    const res = await client.$fetch("/get-session/");
    assertApiError(res, 404, null);
  });

  test("getSession without cookies is 200 null, with no-store caching headers", async () => {
    const { client, jar } = makeClient();
    const res = await client.getSession();
    assert.equal(res.error, null);
    assert.equal(res.data, null);
    assert.equal(jar.lastResponse.status, 200);
    assert.equal(jar.lastResponse.headers.get("cache-control"), "no-store");
    assert.equal(jar.lastResponse.headers.get("pragma"), "no-cache");
    assert.equal(jar.lastSetCookie.length, 0);
  });

  test("getSession with a garbage session cookie is null", async () => {
    const { client, jar } = makeClient();
    jar.cookies.set(SESSION_COOKIE, "not-a-real-token.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D");
    const res = await client.getSession();
    assert.equal(res.error, null);
    assert.equal(res.data, null);
  });

  test("the seeded admin can sign in", async () => {
    const email = process.env.ADMIN_EMAIL || "admin@example.com";
    const password = process.env.ADMIN_PASSWORD || "Admin-passw0rd!";
    const { client, jar } = makeClient();
    const data = ok(await client.signIn.email({ email, password }), "admin sign-in");
    assert.equal(data.redirect, false);
    assertUser(data.user, { email });
    assertSessionCookieLine(jar.lastLine(SESSION_COOKIE), { token: data.token });
    const s = await mustGetSession(client);
    assertUser(s.user, { id: data.user.id, email });
    assertSession(s.session, { userId: data.user.id, token: data.token, userAgent: USER_AGENT });
    ok(await client.signOut(), "admin sign-out");
  });
});
