// POST /sign-in/email through client.signIn.email (contract §5.1, §3, §9).
import { describe, test, before } from "node:test";
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

describe("sign-in (email)", () => {
  let account; // {email, user}

  before(async () => {
    const { email, user } = await signUpNew({ tag: "signin", name: "Grace Hopper" });
    account = { email, user };
  });

  test("returns {redirect:false, token, user}, sets the session cookie, and the session is live", async () => {
    const { client, jar } = makeClient();
    const data = ok(await client.signIn.email({ email: account.email, password: PASSWORD }), "sign-in");
    assert.deepEqual(Object.keys(data).sort(), ["redirect", "token", "user"]);
    assert.equal(data.redirect, false);
    assert.equal(typeof data.token, "string");
    assertUser(data.user, {
      id: account.user.id,
      name: "Grace Hopper",
      email: account.email,
      emailVerified: false,
      image: null,
    });
    assertSessionCookieLine(jar.lastLine(SESSION_COOKIE), { token: data.token });
    assert.equal(jar.lastLine(DONT_REMEMBER_COOKIE), undefined);

    const s = await mustGetSession(client);
    assertUser(s.user, { id: account.user.id, email: account.email });
    assertSession(s.session, {
      userId: account.user.id,
      token: data.token,
      userAgent: USER_AGENT,
      ipAddress: "",
      expiresIn: SEVEN_DAYS_S,
    });
  });

  test("email is matched case-insensitively", async () => {
    const { client } = makeClient();
    const data = ok(await client.signIn.email({ email: account.email.toUpperCase(), password: PASSWORD }), "sign-in");
    assertUser(data.user, { id: account.user.id, email: account.email });
  });

  test("every sign-in creates a distinct session", async () => {
    const a = makeClient();
    const b = makeClient();
    const da = ok(await a.client.signIn.email({ email: account.email, password: PASSWORD }));
    const db = ok(await b.client.signIn.email({ email: account.email, password: PASSWORD }));
    assert.notEqual(da.token, db.token);
    const sa = await mustGetSession(a.client);
    const sb = await mustGetSession(b.client);
    assert.notEqual(sa.session.id, sb.session.id);
    assert.equal(sa.session.userId, sb.session.userId);
  });

  test("X-Forwarded-For (single IP) is recorded as session.ipAddress", async () => {
    const { client } = makeClient();
    ok(
      await client.signIn.email(
        { email: account.email, password: PASSWORD },
        { headers: { "x-forwarded-for": "203.0.113.7" } },
      ),
    );
    const s = await mustGetSession(client);
    assertSession(s.session, { ipAddress: "203.0.113.7" });
  });

  test("wrong password is 401 INVALID_EMAIL_OR_PASSWORD", async () => {
    const { client, jar } = makeClient();
    const res = await client.signIn.email({ email: account.email, password: PASSWORD + "x" });
    assertApiError(res, 401, "INVALID_EMAIL_OR_PASSWORD", "Invalid email or password");
    assert.equal(jar.lastSetCookie.length, 0);
    assert.equal(jar.has(SESSION_COOKIE), false);
  });

  test("unknown email is the same 401 INVALID_EMAIL_OR_PASSWORD", async () => {
    const { client } = makeClient();
    const res = await client.signIn.email({ email: uniqueEmail("nobody"), password: PASSWORD });
    assertApiError(res, 401, "INVALID_EMAIL_OR_PASSWORD", "Invalid email or password");
  });

  test("a malformed email is 400 INVALID_EMAIL", async () => {
    const { client } = makeClient();
    const res = await client.signIn.email({ email: "not-an-email", password: PASSWORD });
    assertApiError(res, 400, "INVALID_EMAIL", "Invalid email");
  });

  test("a password longer than 128 is 400 PASSWORD_TOO_LONG", async () => {
    const { client } = makeClient();
    const res = await client.signIn.email({ email: account.email, password: "p".repeat(129) });
    assertApiError(res, 400, "PASSWORD_TOO_LONG", "Password too long");
  });

  test("a missing password is 400 VALIDATION_ERROR", async () => {
    const { client } = makeClient();
    const res = await client.signIn.email({ email: account.email });
    assertApiError(res, 400, "VALIDATION_ERROR", /^\[body\.password\] /);
  });

  test("malformed JSON is 400 BAD_REQUEST", async () => {
    const { client } = makeClient();
    const res = await client.$fetch("/sign-in/email", {
      method: "POST",
      body: '{"email": "x@example.com", ',
      headers: { "content-type": "application/json" },
    });
    assertApiError(res, 400, "BAD_REQUEST", "Invalid JSON in request body");
  });

  test("rememberMe:false: session cookie without Max-Age, dont_remember cookie, 1-day session", async () => {
    const { client, jar } = makeClient();
    const data = ok(await client.signIn.email({ email: account.email, password: PASSWORD, rememberMe: false }));
    assertSessionCookieLine(jar.lastLine(SESSION_COOKIE), { remember: false, token: data.token });
    const dr = jar.lastLine(DONT_REMEMBER_COOKIE);
    const m = /^better-auth\.dont_remember=(.+); Path=\/; HttpOnly; SameSite=Lax$/.exec(dr ?? "");
    assert.ok(m, `dont_remember line has the wrong format: ${dr}`);
    assert.equal(parseSignedValue(m[1]).token, "true");
    assert.ok(jar.has(DONT_REMEMBER_COOKIE));
    const s = await mustGetSession(client);
    assertSession(s.session, { token: data.token, expiresIn: ONE_DAY_S });
  });

  test("a relative callbackURL gives redirect:true, url and a Location header", async () => {
    const { client, jar } = makeClient();
    const data = ok(
      await client.signIn.email({ email: account.email, password: PASSWORD, callbackURL: "/dashboard" }),
    );
    assert.equal(data.redirect, true);
    assert.equal(data.url, "/dashboard");
    assert.equal(typeof data.token, "string");
    assertUser(data.user, { id: account.user.id });
    assert.equal(jar.lastResponse.status, 200);
    assert.equal(jar.lastResponse.headers.get("location"), "/dashboard");
    assertSessionCookieLine(jar.lastLine(SESSION_COOKIE), { token: data.token });
  });

  test("an absolute callbackURL on a trusted origin is accepted", async () => {
    const { client, jar } = makeClient();
    const callbackURL = `${ORIGIN}/welcome`;
    const data = ok(await client.signIn.email({ email: account.email, password: PASSWORD, callbackURL }));
    assert.equal(data.redirect, true);
    assert.equal(data.url, callbackURL);
    assert.equal(jar.lastResponse.headers.get("location"), callbackURL);
  });

  test("an untrusted callbackURL is 403 INVALID_CALLBACK_URL", async () => {
    const { client, jar } = makeClient();
    const res = await client.signIn.email({
      email: account.email,
      password: PASSWORD,
      callbackURL: "http://evil.example.com/steal",
    });
    assertApiError(res, 403, "INVALID_CALLBACK_URL", "Invalid callbackURL");
    assert.equal(jar.lastSetCookie.length, 0);
  });

  test("an untrusted Origin is 403 INVALID_ORIGIN", async () => {
    const { client, jar } = makeClient();
    const res = await client.signIn.email(
      { email: account.email, password: PASSWORD },
      { headers: { origin: EVIL_ORIGIN } },
    );
    assertApiError(res, 403, "INVALID_ORIGIN", "Invalid origin");
    assert.equal(jar.lastSetCookie.length, 0);
  });

  test("an untrusted Origin on a cookie-bearing sign-in is 403 INVALID_ORIGIN too", async () => {
    const { client, jar } = makeClient();
    ok(await client.signIn.email({ email: account.email, password: PASSWORD }));
    assert.ok(jar.has(SESSION_COOKIE));
    const res = await client.signIn.email(
      { email: account.email, password: PASSWORD },
      { headers: { origin: EVIL_ORIGIN } },
    );
    assertApiError(res, 403, "INVALID_ORIGIN", "Invalid origin");
    // The existing session is untouched.
    await mustGetSession(client);
  });
});
