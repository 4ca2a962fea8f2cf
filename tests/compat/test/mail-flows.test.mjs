// Email verification, password reset and email change through the official client, reading
// the links from the server's mailbox file (contract §5.3-§5.5).
//
// MAILBOX must name the JSON-lines file the server writes its mail to: authlog's development
// mailbox (AUTHLOG_MAILBOX; tests/compat/run.sh sets both), or the reference server's OUTBOX.
// Each line has at least {"kind","to","url","token"}. The server must have
// user.changeEmail.enabled without sendChangeEmailConfirmation (the reference's setup).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  makeClient,
  signUpNew,
  signInNew,
  mustGetSession,
  assertApiError,
  assertUser,
  ok,
  uniqueEmail,
} from "../lib/harness.mjs";

const MAILBOX = process.env.MAILBOX;
const skip = MAILBOX ? false : "MAILBOX is not set: point it at the server's mailbox file";

/** The newest mail of `kind` to `to`, waiting for the server's mailer (up to 20 s). */
async function mail(kind, to) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    let text = "";
    try {
      text = readFileSync(MAILBOX, "utf8");
    } catch {}
    const found = text
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line))
      .filter((m) => m.kind === kind && m.to === to);
    if (found.length) return found[found.length - 1];
    if (Date.now() > deadline) throw new Error(`no ${kind} mail to ${to} in ${MAILBOX}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The `token` query parameter of a mailed verify-email link. */
function tokenOf(url) {
  return new URL(url).searchParams.get("token");
}

describe("email verification", { skip }, () => {
  test("the mailed link verifies the address, once", async () => {
    const { client, email } = await signUpNew({ tag: "verify" });
    assert.deepEqual(ok(await client.sendVerificationEmail({ email, callbackURL: "/verified" })), { status: true });
    const m = await mail("verify-email", email);
    const url = new URL(m.url);
    assert.equal(url.pathname, "/api/auth/verify-email");
    assert.equal(url.searchParams.get("callbackURL"), "/verified");

    const data = ok(await client.verifyEmail({ query: { token: tokenOf(m.url) } }), "verify-email");
    assert.deepEqual(data, { status: true, user: null });
    const s = await mustGetSession(client);
    assertUser(s.user, { email, emailVerified: true });

    // The address is verified now: asking again is refused.
    const res = await client.sendVerificationEmail({ email });
    assertApiError(res, 400, "EMAIL_ALREADY_VERIFIED", "Email is already verified");
  });

  test("a made-up token is 401 INVALID_TOKEN", async () => {
    const { client } = makeClient();
    const res = await client.verifyEmail({ query: { token: "not-a-real-token" } });
    assertApiError(res, 401, "INVALID_TOKEN", "Invalid token");
  });
});

describe("password reset", { skip }, () => {
  test("the mailed token sets a new password, once", async () => {
    const { email } = await signUpNew({ tag: "reset" });
    const { client } = makeClient();
    const answer = ok(await client.requestPasswordReset({ email, redirectTo: "/reset" }), "request-password-reset");
    assert.deepEqual(answer, {
      status: true,
      message: "If this email exists in our system, check your email for the reset link",
    });
    const m = await mail("reset-password", email);
    assert.match(new URL(m.url).pathname, /^\/api\/auth\/reset-password\/[^/]+$/);
    assert.equal(new URL(m.url).searchParams.get("callbackURL"), "/reset");

    const newPassword = "Compat-r3set-passw0rd!";
    assert.deepEqual(ok(await client.resetPassword({ newPassword, token: m.token }), "reset-password"), { status: true });
    await signInNew(email, newPassword);
    const old = await makeClient().client.signIn.email({ email, password: "Compat-passw0rd!" });
    assertApiError(old, 401, "INVALID_EMAIL_OR_PASSWORD", "Invalid email or password");

    const again = await client.resetPassword({ newPassword: "Compat-an0ther-passw0rd!", token: m.token });
    assertApiError(again, 400, "INVALID_TOKEN", "Invalid token");
  });

  test("an unknown address gets the same answer and no mail", async () => {
    const { client } = makeClient();
    const email = uniqueEmail("nobody");
    const answer = ok(await client.requestPasswordReset({ email, redirectTo: "/reset" }));
    assert.equal(answer.status, true);
    await assert.rejects(
      Promise.race([mail("reset-password", email), new Promise((_, reject) => setTimeout(() => reject(new Error("none")), 1500))]),
    );
  });
});

describe("change email", { skip }, () => {
  test("a verification mailed to the new address moves the account there", async () => {
    const { client, email, user } = await signUpNew({ tag: "change" });
    const newEmail = uniqueEmail("changed");
    assert.deepEqual(ok(await client.changeEmail({ newEmail, callbackURL: "/settings" }), "change-email"), { status: true });
    const m = await mail("verify-email", newEmail);
    const data = ok(await client.verifyEmail({ query: { token: tokenOf(m.url) } }), "verify-email (change)");
    assert.equal(data.status, true);
    assertUser(data.user, { id: user.id, email: newEmail });
    const s = await mustGetSession(client);
    assertUser(s.user, { id: user.id, email: newEmail });
    // The old address no longer signs in; the new one does.
    const old = await makeClient().client.signIn.email({ email, password: "Compat-passw0rd!" });
    assertApiError(old, 401, "INVALID_EMAIL_OR_PASSWORD", "Invalid email or password");
    await signInNew(newEmail);
  });

  test("the same address is refused", async () => {
    const { client, email } = await signUpNew({ tag: "same" });
    const res = await client.changeEmail({ newEmail: email });
    assert.equal(res.error?.status, 400);
    assert.equal(res.error?.message, "Email is the same");
  });
});
