// POST /sign-up/email through client.signUp.email (contract §5.1, §2, §3).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  makeClient,
  signUpNew,
  uniqueEmail,
  mustGetSession,
  assertApiError,
  assertUser,
  assertSession,
  assertSessionCookieLine,
  parseSignedValue,
  ok,
  PASSWORD,
  USER_AGENT,
  EVIL_ORIGIN,
  ORIGIN,
  SESSION_COOKIE,
  DONT_REMEMBER_COOKIE,
  SEVEN_DAYS_S,
  ONE_DAY_S,
} from "../lib/harness.mjs";

describe("sign-up (email)", () => {
  test("returns {token, user}, sets the session cookie, and the session is live", async () => {
    const { client, jar } = makeClient();
    const email = uniqueEmail("signup");
    const mixedCase = email.replace(/^compat/, "CoMpAt").replace("@example.com", "@Example.COM");
    const before = Date.now();
    const data = ok(await client.signUp.email({ name: "Ada Lovelace", email: mixedCase, password: PASSWORD }), "sign-up");

    assert.deepEqual(Object.keys(data).sort(), ["token", "user"]);
    assert.equal(typeof data.token, "string");
    assert.ok(data.token.length > 0);
    // Email is stored lower-cased; a fresh user is unverified and has no image.
    assertUser(data.user, { name: "Ada Lovelace", email, emailVerified: false, image: null });
    assert.ok(Math.abs(data.user.createdAt.getTime() - before) < 10 * 60 * 1000, "createdAt is close to now");

    // Set-Cookie: better-auth.session_token=<token>.<sig>; Max-Age=604800; Path=/; HttpOnly; SameSite=Lax
    assertSessionCookieLine(jar.lastLine(SESSION_COOKIE), { token: data.token });
    assert.equal(jar.lastLine(DONT_REMEMBER_COOKIE), undefined, "no dont_remember cookie by default");
    assert.ok(jar.has(SESSION_COOKIE));

    const s = await mustGetSession(client);
    assertUser(s.user, {
      id: data.user.id,
      name: "Ada Lovelace",
      email,
      emailVerified: false,
      image: null,
    });
    assert.equal(s.user.createdAt.getTime(), data.user.createdAt.getTime());
    assertSession(s.session, {
      userId: data.user.id,
      token: data.token,
      userAgent: USER_AGENT,
      ipAddress: "",
      expiresIn: SEVEN_DAYS_S,
    });
  });

  test("stores an image when given one", async () => {
    const image = "https://images.example.com/avatar.png";
    const { client, user } = await signUpNew({ tag: "image", image });
    assertUser(user, { image });
    const s = await mustGetSession(client);
    assertUser(s.user, { image });
  });

  test("an empty name is accepted", async () => {
    const { user } = await signUpNew({ tag: "noname", name: "" });
    assertUser(user, { name: "" });
  });

  test("client-sent emailVerified is ignored (user stays unverified)", async () => {
    const { user, client } = await signUpNew({ tag: "verified", emailVerified: true });
    assertUser(user, { emailVerified: false });
    const s = await mustGetSession(client);
    assert.equal(s.user.emailVerified, false);
  });

  test("password length limits: 8 and 128 accepted", async () => {
    await signUpNew({ tag: "pw8", password: "12345678" });
    await signUpNew({ tag: "pw128", password: "p".repeat(128) });
  });

  test("existing email (any case) is 422 USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL", async () => {
    const { email } = await signUpNew({ tag: "dup" });
    for (const attempt of [email, email.toUpperCase()]) {
      const { client, jar } = makeClient();
      const res = await client.signUp.email({ name: "Dup", email: attempt, password: PASSWORD });
      assertApiError(res, 422, "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL", "User already exists. Use another email.");
      assert.equal(jar.lastLine(SESSION_COOKIE), undefined, "no session cookie on failure");
    }
  });

  test("password shorter than 8 is 400 PASSWORD_TOO_SHORT", async () => {
    const { client, jar } = makeClient();
    const res = await client.signUp.email({ name: "Short", email: uniqueEmail("short"), password: "1234567" });
    assertApiError(res, 400, "PASSWORD_TOO_SHORT", "Password too short");
    assert.equal(jar.lastSetCookie.length, 0);
  });

  test("password longer than 128 is 400 PASSWORD_TOO_LONG", async () => {
    const { client } = makeClient();
    const res = await client.signUp.email({ name: "Long", email: uniqueEmail("long"), password: "p".repeat(129) });
    assertApiError(res, 400, "PASSWORD_TOO_LONG", "Password too long");
  });

  test("schema failures are 400 VALIDATION_ERROR naming the field", async () => {
    const { client } = makeClient();
    // missing name
    let res = await client.signUp.email({ email: uniqueEmail("noname"), password: PASSWORD });
    assertApiError(res, 400, "VALIDATION_ERROR", /^\[body\.name\] /);
    // malformed email (rejected by the schema, not by the handler)
    res = await client.signUp.email({ name: "X", email: "not-an-email", password: PASSWORD });
    assertApiError(res, 400, "VALIDATION_ERROR", /^\[body\.email\] /);
    // empty password
    res = await client.signUp.email({ name: "X", email: uniqueEmail("emptypw"), password: "" });
    assertApiError(res, 400, "VALIDATION_ERROR", /^\[body\.password\] /);
  });

  test("rememberMe:false sets a browser-session cookie plus dont_remember, and a 1-day session", async () => {
    const { client, jar } = makeClient();
    const data = ok(
      await client.signUp.email({ name: "Forgetful", email: uniqueEmail("norem"), password: PASSWORD, rememberMe: false }),
      "sign-up",
    );
    assertSessionCookieLine(jar.lastLine(SESSION_COOKIE), { remember: false, token: data.token });
    const dr = jar.lastLine(DONT_REMEMBER_COOKIE);
    assert.ok(dr, "expected a dont_remember cookie");
    const m = /^better-auth\.dont_remember=(.+); Path=\/; HttpOnly; SameSite=Lax$/.exec(dr);
    assert.ok(m, `dont_remember line has the wrong format: ${dr}`);
    assert.equal(parseSignedValue(m[1]).token, "true");
    const s = await mustGetSession(client);
    assertSession(s.session, { token: data.token, expiresIn: ONE_DAY_S });
  });

  test("an untrusted Origin is 403 INVALID_ORIGIN and creates nothing", async () => {
    const email = uniqueEmail("badorigin");
    const { client, jar } = makeClient({ origin: EVIL_ORIGIN });
    const res = await client.signUp.email({ name: "Evil", email, password: PASSWORD });
    assertApiError(res, 403, "INVALID_ORIGIN", "Invalid origin");
    assert.equal(jar.lastSetCookie.length, 0);
    // The user was not created: the same email can sign up from the trusted origin.
    await signUpNew({ email });
  });

  test("an explicit per-call Origin header is honoured (trusted origin works)", async () => {
    const { client } = makeClient({ origin: EVIL_ORIGIN });
    const res = await client.signUp.email(
      { name: "Good", email: uniqueEmail("goodorigin"), password: PASSWORD },
      { headers: { origin: ORIGIN } },
    );
    ok(res, "sign-up with trusted Origin");
  });

  test("an untrusted callbackURL is 403 INVALID_CALLBACK_URL", async () => {
    const { client, jar } = makeClient();
    const res = await client.signUp.email({
      name: "Cb",
      email: uniqueEmail("badcb"),
      password: PASSWORD,
      callbackURL: "http://evil.example.com/after",
    });
    assertApiError(res, 403, "INVALID_CALLBACK_URL", "Invalid callbackURL");
    assert.equal(jar.lastSetCookie.length, 0);
  });
});
