// POST /sign-out through client.signOut (contract §5.1, §3.2).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  makeClient,
  signUpNew,
  signInNew,
  mustGetSession,
  mustHaveNoSession,
  assertApiError,
  assertDeletionLine,
  assertOnlyDeletions,
  ok,
  SESSION_COOKIE,
  DONT_REMEMBER_COOKIE,
} from "../lib/harness.mjs";

describe("sign-out", () => {
  test("answers {success:true}, expires the cookies, and kills the session server-side", async () => {
    const a = await signUpNew({ tag: "signout" });
    const b = await signInNew(a.email);
    const oldCookie = a.jar.get(SESSION_COOKIE);

    const data = ok(await a.client.signOut(), "sign-out");
    assert.deepEqual(data, { success: true });
    // better-auth.session_token=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax (and dont_remember likewise)
    assertDeletionLine(a.jar.lastSetCookie, SESSION_COOKIE);
    assertDeletionLine(a.jar.lastSetCookie, DONT_REMEMBER_COOKIE);
    assertOnlyDeletions(a.jar.lastSetCookie);
    assert.equal(a.jar.cookies.size, 0);

    await mustHaveNoSession(a.client);
    assertApiError(await a.client.listSessions(), 401, "UNAUTHORIZED");

    // Replaying the old cookie does not resurrect the session.
    const replay = makeClient();
    replay.jar.cookies.set(SESSION_COOKIE, oldCookie);
    await mustHaveNoSession(replay.client);

    // Other sessions of the same user are unaffected.
    await mustGetSession(b.client);
  });

  test("after a rememberMe:false sign-in, the dont_remember cookie is expired too", async () => {
    const { email } = await signUpNew({ tag: "signoutnorem" });
    const { client, jar } = await signInNew(email, undefined, { rememberMe: false });
    assert.ok(jar.has(DONT_REMEMBER_COOKIE));
    ok(await client.signOut());
    assertDeletionLine(jar.lastSetCookie, SESSION_COOKIE);
    assertDeletionLine(jar.lastSetCookie, DONT_REMEMBER_COOKIE);
    assert.equal(jar.has(SESSION_COOKIE), false);
    assert.equal(jar.has(DONT_REMEMBER_COOKIE), false);
    await mustHaveNoSession(client);
  });

  test("without a session it is still 200 {success:true}", async () => {
    const { client, jar } = makeClient();
    const data = ok(await client.signOut(), "sign-out");
    assert.deepEqual(data, { success: true });
    assertOnlyDeletions(jar.lastSetCookie);
  });
});
