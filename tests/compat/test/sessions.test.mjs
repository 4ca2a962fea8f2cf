// get-session / list-sessions / revoke-session / revoke-sessions / revoke-other-sessions
// (contract §3.5, §5.2).
//
// Tokens from list-sessions are only ever passed back to revokeSession. The current
// session is identified in the listing by its id (from getSession); only the
// current session's listed token is compared with the caller's own token.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  makeClient,
  signUpNew,
  signInNew,
  mustGetSession,
  mustHaveNoSession,
  assertApiError,
  assertSession,
  assertDeletionLine,
  ok,
  USER_AGENT,
  SESSION_COOKIE,
  SEVEN_DAYS_S,
} from "../lib/harness.mjs";

/** One user with `n` independently signed-in clients (the first one signed up). */
async function userWithClients(tag, n) {
  const first = await signUpNew({ tag });
  const clients = [first];
  for (let i = 1; i < n; i++) clients.push(await signInNew(first.email));
  for (const c of clients) c.session = (await mustGetSession(c.client)).session;
  return { email: first.email, userId: first.user.id, clients };
}

describe("get-session", () => {
  test("returns {session, user} with Dates and the caller's own token", async () => {
    const { client, data } = await signUpNew({ tag: "getsession" });
    const res = await client.getSession();
    assert.equal(res.error, null);
    assert.deepEqual(Object.keys(res.data).sort(), ["session", "user"]);
    assertSession(res.data.session, {
      userId: data.user.id,
      token: data.token,
      userAgent: USER_AGENT,
      expiresIn: SEVEN_DAYS_S,
    });
    assert.equal(res.data.user.id, data.user.id);
  });
});

describe("list-sessions", () => {
  test("lists every live session of the user, the current one with its own token", async () => {
    const { userId, clients } = await userWithClients("list", 2);
    const [a, b] = clients;
    const list = ok(await a.client.listSessions(), "list-sessions");
    assert.ok(Array.isArray(list));
    assert.equal(list.length, 2);
    for (const s of list) assertSession(s, { userId, userAgent: USER_AGENT, expiresIn: SEVEN_DAYS_S });
    assert.deepEqual(list.map((s) => s.id).sort(), [a.session.id, b.session.id].sort());
    const current = list.find((s) => s.id === a.session.id);
    assert.equal(current.token, a.session.token, "the current session carries the caller's token");
    assert.equal(current.createdAt.getTime(), a.session.createdAt.getTime());
    assert.equal(current.expiresAt.getTime(), a.session.expiresAt.getTime());
  });

  test("sessions of other users are not listed", async () => {
    const one = await signUpNew({ tag: "listiso1" });
    await signUpNew({ tag: "listiso2" });
    const list = ok(await one.client.listSessions());
    assert.equal(list.length, 1);
    assert.equal(list[0].userId, one.user.id);
  });

  test("without a session it is 401 UNAUTHORIZED", async () => {
    const { client } = makeClient();
    const res = await client.listSessions();
    assertApiError(res, 401, "UNAUTHORIZED", "Unauthorized");
  });
});

describe("revoke-session", () => {
  test("revoking another session of mine logs that client out; I keep working", async () => {
    const { clients } = await userWithClients("revoke1", 2);
    const [a, b] = clients;
    const list = ok(await a.client.listSessions());
    const other = list.find((s) => s.id === b.session.id);
    assert.ok(other, "the other session is listed");

    const data = ok(await a.client.revokeSession({ token: other.token }), "revoke-session");
    assert.deepEqual(data, { status: true });
    assert.ok(a.jar.has(SESSION_COOKIE), "revoking another session keeps my cookie");

    await mustHaveNoSession(b.client);
    // The server expires the stale cookie when it finds no session.
    assertDeletionLine(b.jar.lastSetCookie, SESSION_COOKIE);
    assert.equal(b.jar.has(SESSION_COOKIE), false);

    const s = await mustGetSession(a.client);
    assert.equal(s.session.id, a.session.id);
    const after = ok(await a.client.listSessions());
    assert.deepEqual(after.map((x) => x.id), [a.session.id]);
  });

  test("revoking my current session expires my cookie", async () => {
    const { clients } = await userWithClients("revokeself", 2);
    const [a, b] = clients;
    const list = ok(await a.client.listSessions());
    const mine = list.find((s) => s.id === a.session.id);
    const data = ok(await a.client.revokeSession({ token: mine.token }));
    assert.deepEqual(data, { status: true });
    assertDeletionLine(a.jar.lastSetCookie, SESSION_COOKIE);
    assert.equal(a.jar.has(SESSION_COOKIE), false);
    await mustHaveNoSession(a.client);
    await mustGetSession(b.client);
  });

  test("a token that is not mine is silently ignored ({status:true}, nothing revoked)", async () => {
    const victim = await signUpNew({ tag: "victim" });
    const victimSession = (await mustGetSession(victim.client)).session;
    const victimList = ok(await victim.client.listSessions());
    const victimEntry = victimList.find((s) => s.id === victimSession.id);

    const attacker = await signUpNew({ tag: "attacker" });
    const data = ok(await attacker.client.revokeSession({ token: victimEntry.token }));
    assert.deepEqual(data, { status: true });
    await mustGetSession(victim.client);
    await mustGetSession(attacker.client);

    // An unknown token is also a no-op.
    assert.deepEqual(ok(await attacker.client.revokeSession({ token: "no-such-session-token" })), { status: true });
    await mustGetSession(attacker.client);
  });

  test("without a session it is 401 UNAUTHORIZED", async () => {
    const { client } = makeClient();
    const res = await client.revokeSession({ token: "whatever" });
    assertApiError(res, 401, "UNAUTHORIZED", "Unauthorized");
  });
});

describe("revoke-other-sessions", () => {
  test("revokes every session but mine", async () => {
    const { clients } = await userWithClients("revokeothers", 3);
    const [a, b, c] = clients;
    const data = ok(await a.client.revokeOtherSessions(), "revoke-other-sessions");
    assert.deepEqual(data, { status: true });
    assert.ok(a.jar.has(SESSION_COOKIE), "my cookie is kept");
    await mustHaveNoSession(b.client);
    await mustHaveNoSession(c.client);
    const s = await mustGetSession(a.client);
    assert.equal(s.session.id, a.session.id);
    const list = ok(await a.client.listSessions());
    assert.deepEqual(list.map((x) => x.id), [a.session.id]);
  });

  test("without a session it is 401 UNAUTHORIZED", async () => {
    const { client } = makeClient();
    assertApiError(await client.revokeOtherSessions(), 401, "UNAUTHORIZED", "Unauthorized");
  });
});

describe("revoke-sessions", () => {
  test("revokes all sessions including mine and expires my cookie", async () => {
    const { email, clients } = await userWithClients("revokeall", 2);
    const [a, b] = clients;
    const data = ok(await a.client.revokeSessions(), "revoke-sessions");
    assert.deepEqual(data, { status: true });
    assertDeletionLine(a.jar.lastSetCookie, SESSION_COOKIE);
    assert.equal(a.jar.has(SESSION_COOKIE), false);
    await mustHaveNoSession(a.client);
    await mustHaveNoSession(b.client);
    // Credentials still work afterwards.
    const again = await signInNew(email);
    await mustGetSession(again.client);
  });

  test("without a session it is 401 UNAUTHORIZED", async () => {
    const { client } = makeClient();
    assertApiError(await client.revokeSessions(), 401, "UNAUTHORIZED", "Unauthorized");
  });
});
