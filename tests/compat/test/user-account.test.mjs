// update-user / change-password / delete-user / list-accounts (contract §5.3, §5.6, §2.3).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  makeClient,
  signUpNew,
  signInNew,
  mustGetSession,
  mustHaveNoSession,
  assertApiError,
  assertUser,
  assertSession,
  assertDate,
  assertSessionCookieLine,
  assertDeletionLine,
  assertOnlyDeletions,
  ok,
  PASSWORD,
  SESSION_COOKIE,
  SEVEN_DAYS_S,
} from "../lib/harness.mjs";

const NEW_PASSWORD = "Compat-n3w-passw0rd!";

describe("update-user", () => {
  test("updates name and image, answers {status:true}, and re-sets the same session cookie", async () => {
    const { client, jar, user, email, data: signUp } = await signUpNew({ tag: "update" });
    const image = "https://images.example.com/new.png";
    const data = ok(await client.updateUser({ name: "Renamed", image }), "update-user");
    assert.deepEqual(data, { status: true });
    assertSessionCookieLine(jar.lastLine(SESSION_COOKIE), { token: signUp.token });

    const s = await mustGetSession(client);
    assertUser(s.user, { id: user.id, name: "Renamed", image, email, emailVerified: false });
    assert.equal(s.user.createdAt.getTime(), user.createdAt.getTime());
    assert.ok(s.user.updatedAt.getTime() >= user.updatedAt.getTime(), "updatedAt moves forward");
  });

  test("image:null clears the image", async () => {
    const { client } = await signUpNew({ tag: "clearimg", image: "https://images.example.com/x.png" });
    assert.deepEqual(ok(await client.updateUser({ image: null })), { status: true });
    const s = await mustGetSession(client);
    assertUser(s.user, { image: null });
  });

  test("changing the email is 400 EMAIL_CAN_NOT_BE_UPDATED and changes nothing", async () => {
    const { client, email } = await signUpNew({ tag: "noemail", name: "Original" });
    let res = await client.updateUser({ email: "someone-else@example.com" });
    assertApiError(res, 400, "EMAIL_CAN_NOT_BE_UPDATED", "Email can not be updated");
    res = await client.updateUser({ email: "someone-else@example.com", name: "Sneaky" });
    assertApiError(res, 400, "EMAIL_CAN_NOT_BE_UPDATED", "Email can not be updated");
    const s = await mustGetSession(client);
    assertUser(s.user, { email, name: "Original" });
  });

  test("without a session it is 401 UNAUTHORIZED", async () => {
    const { client } = makeClient();
    assertApiError(await client.updateUser({ name: "Nobody" }), 401, "UNAUTHORIZED", "Unauthorized");
  });
});

describe("change-password", () => {
  test("wrong current password is 400 INVALID_PASSWORD", async () => {
    const { client } = await signUpNew({ tag: "cpwrong" });
    const res = await client.changePassword({ currentPassword: PASSWORD + "x", newPassword: NEW_PASSWORD });
    assertApiError(res, 400, "INVALID_PASSWORD", "Invalid password");
  });

  test("new password shorter than 8 is 400 PASSWORD_TOO_SHORT, longer than 128 is 400 PASSWORD_TOO_LONG", async () => {
    const { client, email } = await signUpNew({ tag: "cplen" });
    let res = await client.changePassword({ currentPassword: PASSWORD, newPassword: "short" });
    assertApiError(res, 400, "PASSWORD_TOO_SHORT", "Password too short");
    res = await client.changePassword({ currentPassword: PASSWORD, newPassword: "p".repeat(129) });
    assertApiError(res, 400, "PASSWORD_TOO_LONG", "Password too long");
    // The old password still works.
    await signInNew(email, PASSWORD);
  });

  test("without a session it is 401 UNAUTHORIZED", async () => {
    const { client } = makeClient();
    const res = await client.changePassword({ currentPassword: PASSWORD, newPassword: NEW_PASSWORD });
    assertApiError(res, 401, "UNAUTHORIZED", "Unauthorized");
  });

  test("without revokeOtherSessions: {token:null, user}; all sessions survive; only the new password works", async () => {
    const a = await signUpNew({ tag: "cpkeep" });
    const b = await signInNew(a.email);
    const aSession = (await mustGetSession(a.client)).session;

    const data = ok(
      await a.client.changePassword({ currentPassword: PASSWORD, newPassword: NEW_PASSWORD }),
      "change-password",
    );
    assert.deepEqual(Object.keys(data).sort(), ["token", "user"]);
    assert.equal(data.token, null);
    assertUser(data.user, { id: a.user.id, email: a.email });

    const s = await mustGetSession(a.client);
    assert.equal(s.session.id, aSession.id, "the caller keeps its session");
    await mustGetSession(b.client);

    const bad = await makeClient().client.signIn.email({ email: a.email, password: PASSWORD });
    assertApiError(bad, 401, "INVALID_EMAIL_OR_PASSWORD");
    await signInNew(a.email, NEW_PASSWORD);
  });

  test("with revokeOtherSessions: new session + cookie for the caller, every other session is gone", async () => {
    const a = await signUpNew({ tag: "cprevoke" });
    const b = await signInNew(a.email);
    const oldCookie = a.jar.get(SESSION_COOKIE);
    const oldSession = (await mustGetSession(a.client)).session;

    const data = ok(
      await a.client.changePassword({
        currentPassword: PASSWORD,
        newPassword: NEW_PASSWORD,
        revokeOtherSessions: true,
      }),
      "change-password",
    );
    assert.deepEqual(Object.keys(data).sort(), ["token", "user"]);
    assert.equal(typeof data.token, "string");
    assert.ok(data.token.length > 0);
    assert.notEqual(data.token, oldSession.token);
    assertUser(data.user, { id: a.user.id, email: a.email });
    assertSessionCookieLine(a.jar.lastLine(SESSION_COOKIE), { token: data.token });

    // The other client is signed out.
    await mustHaveNoSession(b.client);
    assert.equal(b.jar.has(SESSION_COOKIE), false);

    // The caller keeps working, on a new session carrying the returned token.
    const s = await mustGetSession(a.client);
    assertSession(s.session, { userId: a.user.id, token: data.token, expiresIn: SEVEN_DAYS_S });
    assert.notEqual(s.session.id, oldSession.id);
    const list = ok(await a.client.listSessions());
    assert.deepEqual(list.map((x) => x.id), [s.session.id]);

    // The caller's previous session cookie is dead too.
    const replay = makeClient();
    replay.jar.cookies.set(SESSION_COOKIE, oldCookie);
    await mustHaveNoSession(replay.client);

    // Passwords.
    assertApiError(
      await makeClient().client.signIn.email({ email: a.email, password: PASSWORD }),
      401,
      "INVALID_EMAIL_OR_PASSWORD",
    );
    await signInNew(a.email, NEW_PASSWORD);
  });
});

describe("delete-user", () => {
  test("wrong password is 400 INVALID_PASSWORD and deletes nothing", async () => {
    const { client, email } = await signUpNew({ tag: "delwrong" });
    const res = await client.deleteUser({ password: PASSWORD + "x" });
    assertApiError(res, 400, "INVALID_PASSWORD", "Invalid password");
    await mustGetSession(client);
    await signInNew(email);
  });

  test("without a session it is 401 UNAUTHORIZED", async () => {
    const { client } = makeClient();
    assertApiError(await client.deleteUser({ password: PASSWORD }), 401, "UNAUTHORIZED", "Unauthorized");
  });

  test("with the password: {success:true, message:'User deleted'}, cookies expired, user and sessions gone", async () => {
    const a = await signUpNew({ tag: "delete" });
    const b = await signInNew(a.email);
    const data = ok(await a.client.deleteUser({ password: PASSWORD }), "delete-user");
    assert.deepEqual(data, { success: true, message: "User deleted" });
    assertDeletionLine(a.jar.lastSetCookie, SESSION_COOKIE);
    assertOnlyDeletions(a.jar.lastSetCookie);
    assert.equal(a.jar.has(SESSION_COOKIE), false);

    await mustHaveNoSession(a.client);
    await mustHaveNoSession(b.client);
    assertApiError(
      await makeClient().client.signIn.email({ email: a.email, password: PASSWORD }),
      401,
      "INVALID_EMAIL_OR_PASSWORD",
    );
    // The email is free again.
    const again = await signUpNew({ email: a.email });
    assert.notEqual(again.user.id, a.user.id);
  });
});

describe("list-accounts", () => {
  test("lists the credential account without secrets", async () => {
    const { client, user } = await signUpNew({ tag: "accounts" });
    const list = ok(await client.listAccounts(), "list-accounts");
    assert.ok(Array.isArray(list));
    assert.equal(list.length, 1);
    const acc = list[0];
    assert.equal(typeof acc.id, "string");
    assert.ok(acc.id.length > 0);
    assert.equal(acc.providerId, "credential");
    assert.equal(acc.accountId, user.id);
    assert.equal(acc.userId, user.id);
    assertDate(acc.createdAt, "account.createdAt");
    assertDate(acc.updatedAt, "account.updatedAt");
    assert.deepEqual(acc.scopes, []);
    for (const secret of [
      "password",
      "scope",
      "accessToken",
      "refreshToken",
      "idToken",
      "accessTokenExpiresAt",
      "refreshTokenExpiresAt",
    ]) {
      assert.ok(!(secret in acc), `account must not expose ${secret}`);
    }
  });

  test("without a session it is 401 UNAUTHORIZED", async () => {
    const { client } = makeClient();
    assertApiError(await client.listAccounts(), 401, "UNAUTHORIZED", "Unauthorized");
  });
});
