// Shared harness for the official-client compatibility suite.
//
// Every test drives the server only through the official `better-auth` JS client
// (`createAuthClient` from "better-auth/client"), with a tiny cookie-jar fetch
// passed as `fetchOptions.customFetchImpl`. The server under test comes from
// AUTHLOG_URL (e.g. http://127.0.0.1:3102); this suite never starts a server.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { STATUS_CODES } from "node:http";
import { createAuthClient } from "better-auth/client";

const RAW_URL = process.env.AUTHLOG_URL;
if (!RAW_URL) {
  throw new Error(
    "AUTHLOG_URL is not set. Point it at a running server, e.g. AUTHLOG_URL=http://127.0.0.1:3102 npm test",
  );
}

/** Server base URL as given (no trailing slash). The client appends /api/auth. */
export const BASE_URL = RAW_URL.replace(/\/+$/, "");
/** The server's origin; sent as `Origin` on every request (CSRF check, contract §9.1). */
export const ORIGIN = new URL(BASE_URL).origin;
/** A fixed User-Agent so session.userAgent can be checked exactly (contract §4). */
export const USER_AGENT = "authlog-compat-suite/1.0";
/** An origin that is not trusted by the server. */
export const EVIL_ORIGIN = "http://evil.example.com";

// Cookie names for an http:// baseURL (no __Secure- prefix), contract §3.1.
export const SESSION_COOKIE = "better-auth.session_token";
export const DONT_REMEMBER_COOKIE = "better-auth.dont_remember";

export const PASSWORD = "Compat-passw0rd!";
export const SEVEN_DAYS_S = 604800;
export const ONE_DAY_S = 86400;

// ---------------------------------------------------------------------------
// Cookie jar
// ---------------------------------------------------------------------------

/** Parse one Set-Cookie line into {name, value, attrs} (attribute names lower-cased). */
export function parseSetCookie(line) {
  const [pair, ...rest] = line.split(";");
  const eq = pair.indexOf("=");
  const name = (eq === -1 ? pair : pair.slice(0, eq)).trim();
  const value = eq === -1 ? "" : pair.slice(eq + 1).trim();
  const attrs = {};
  for (const part of rest) {
    const p = part.trim();
    if (!p) continue;
    const i = p.indexOf("=");
    if (i === -1) attrs[p.toLowerCase()] = true;
    else attrs[p.slice(0, i).trim().toLowerCase()] = p.slice(i + 1).trim();
  }
  return { name, value, attrs };
}

/**
 * A single-host cookie jar. Values are kept exactly as received (still
 * URL-encoded) and sent back verbatim, like a browser does.
 */
export class CookieJar {
  constructor() {
    /** @type {Map<string,string>} */
    this.cookies = new Map();
    /** Raw Set-Cookie lines of the last response (empty array if none). */
    this.lastSetCookie = [];
    /** {status, statusText, headers, url, method} of the last response. */
    this.lastResponse = null;
  }

  /** Apply Set-Cookie lines: Max-Age<=0 or a past Expires deletes the cookie. */
  store(lines) {
    for (const line of lines) {
      const { name, value, attrs } = parseSetCookie(line);
      if (!name) continue;
      let expired = false;
      if (attrs["max-age"] !== undefined) {
        expired = Number(attrs["max-age"]) <= 0;
      } else if (typeof attrs.expires === "string") {
        const t = Date.parse(attrs.expires);
        expired = !Number.isNaN(t) && t <= Date.now();
      }
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  header() {
    return [...this.cookies].map(([n, v]) => `${n}=${v}`).join("; ");
  }

  get(name) {
    return this.cookies.get(name);
  }

  has(name) {
    return this.cookies.has(name);
  }

  /** The Set-Cookie line of the last response for cookie `name`, or undefined. */
  lastLine(name) {
    return this.lastSetCookie.find((l) => parseSetCookie(l).name === name);
  }
}

/**
 * Create an official client bound to a fresh cookie jar.
 * The fetch wrapper always sends `Origin: <server origin>` unless the caller
 * passed an explicit Origin header (used to provoke INVALID_ORIGIN).
 */
export function makeClient({ origin = ORIGIN, userAgent = USER_AGENT } = {}) {
  const jar = new CookieJar();
  async function customFetchImpl(input, init = {}) {
    const headers = new Headers(init.headers);
    if (!headers.has("origin")) headers.set("origin", origin);
    if (!headers.has("user-agent")) headers.set("user-agent", userAgent);
    const cookie = jar.header();
    if (cookie) headers.set("cookie", cookie);
    const method = (init.method || "GET").toUpperCase();
    const res = await fetch(input, {
      method,
      headers,
      body: init.body ?? undefined,
      signal: init.signal,
      redirect: "manual",
    });
    const lines = res.headers.getSetCookie();
    jar.lastSetCookie = lines;
    jar.lastResponse = {
      status: res.status,
      statusText: res.statusText,
      headers: res.headers,
      url: String(input),
      method,
    };
    jar.store(lines);
    return res;
  }
  const client = createAuthClient({
    baseURL: BASE_URL,
    fetchOptions: { customFetchImpl },
  });
  return { client, jar };
}

// ---------------------------------------------------------------------------
// Data helpers
// ---------------------------------------------------------------------------

/** A fresh, unique, lower-case email so the suite can re-run against one server. */
export function uniqueEmail(tag = "user") {
  const rnd = randomBytes(6).toString("hex");
  return `compat-${tag}-${Date.now().toString(36)}-${rnd}@example.com`;
}

/** Sign up a brand-new user with a fresh client; asserts success. */
export async function signUpNew({ tag = "user", name = "Compat User", email, password = PASSWORD, ...extra } = {}) {
  const { client, jar } = makeClient();
  email ??= uniqueEmail(tag);
  const res = await client.signUp.email({ name, email, password, ...extra });
  assert.equal(res.error, null, `sign-up failed: ${JSON.stringify(res.error)}`);
  assert.ok(res.data, "sign-up returned no data");
  return { client, jar, email, password, name, data: res.data, user: res.data.user };
}

/** Sign an existing user in with a fresh client; asserts success. */
export async function signInNew(email, password = PASSWORD, extra = {}) {
  const { client, jar } = makeClient();
  const res = await client.signIn.email({ email, password, ...extra });
  assert.equal(res.error, null, `sign-in failed: ${JSON.stringify(res.error)}`);
  return { client, jar, data: res.data };
}

/** getSession that asserts a live session and returns {session, user}. */
export async function mustGetSession(client) {
  const res = await client.getSession();
  assert.equal(res.error, null, `get-session error: ${JSON.stringify(res.error)}`);
  assert.ok(res.data && res.data.session && res.data.user, "expected a live session");
  return res.data;
}

/** getSession that asserts there is no session (200 `null`). */
export async function mustHaveNoSession(client) {
  const res = await client.getSession();
  assert.equal(res.error, null, `get-session error: ${JSON.stringify(res.error)}`);
  assert.equal(res.data, null, "expected no session (null)");
}

// ---------------------------------------------------------------------------
// Assertions
// ---------------------------------------------------------------------------

export function assertDate(value, label) {
  assert.ok(value instanceof Date, `${label} should be revived as a Date, got ${typeof value}: ${value}`);
  assert.ok(!Number.isNaN(value.getTime()), `${label} is an invalid Date`);
}

function assertNonEmptyString(value, label) {
  assert.equal(typeof value, "string", `${label} should be a string`);
  assert.ok(value.length > 0, `${label} should be non-empty`);
}

/**
 * User shape (contract §2.1). `image` may be null (SQL) or absent (memory);
 * extra plugin fields are tolerated, secrets are not.
 */
export function assertUser(user, expected = {}) {
  assert.ok(user && typeof user === "object", "user should be an object");
  assertNonEmptyString(user.id, "user.id");
  assert.equal(typeof user.name, "string", "user.name should be a string");
  assert.equal(typeof user.email, "string", "user.email should be a string");
  assert.equal(typeof user.emailVerified, "boolean", "user.emailVerified should be a boolean");
  assert.ok(user.image === null || user.image === undefined || typeof user.image === "string", "user.image string|null");
  assertDate(user.createdAt, "user.createdAt");
  assertDate(user.updatedAt, "user.updatedAt");
  assert.ok(user.updatedAt.getTime() >= user.createdAt.getTime(), "user.updatedAt >= createdAt");
  for (const secret of ["password", "hashedPassword"]) {
    assert.ok(!(secret in user), `user must not expose ${secret}`);
  }
  if ("id" in expected) assert.equal(user.id, expected.id);
  if ("name" in expected) assert.equal(user.name, expected.name);
  if ("email" in expected) assert.equal(user.email, expected.email);
  if ("emailVerified" in expected) assert.equal(user.emailVerified, expected.emailVerified);
  if ("image" in expected) {
    if (expected.image === null) assert.ok(user.image === null || user.image === undefined, `user.image should be unset, got ${user.image}`);
    else assert.equal(user.image, expected.image);
  }
}

/** Session shape (contract §2.2). `expiresIn` (seconds) is checked against createdAt/updatedAt. */
export function assertSession(session, expected = {}) {
  assert.ok(session && typeof session === "object", "session should be an object");
  assertNonEmptyString(session.id, "session.id");
  assertNonEmptyString(session.token, "session.token");
  assertNonEmptyString(session.userId, "session.userId");
  assertDate(session.expiresAt, "session.expiresAt");
  assertDate(session.createdAt, "session.createdAt");
  assertDate(session.updatedAt, "session.updatedAt");
  assert.ok(
    session.ipAddress === null || session.ipAddress === undefined || typeof session.ipAddress === "string",
    "session.ipAddress string|null",
  );
  assert.ok(
    session.userAgent === null || session.userAgent === undefined || typeof session.userAgent === "string",
    "session.userAgent string|null",
  );
  if ("id" in expected) assert.equal(session.id, expected.id);
  if ("userId" in expected) assert.equal(session.userId, expected.userId);
  if ("token" in expected) assert.equal(session.token, expected.token);
  if ("userAgent" in expected) assert.equal(session.userAgent, expected.userAgent);
  if ("ipAddress" in expected) {
    if (expected.ipAddress === "") {
      assert.ok(session.ipAddress === "" || session.ipAddress == null, `session.ipAddress should be empty, got ${session.ipAddress}`);
    } else assert.equal(session.ipAddress, expected.ipAddress);
  }
  if ("expiresIn" in expected) {
    // expiresAt = updatedAt (last refresh) + expiresIn; allow a few seconds of slack.
    const delta = (session.expiresAt.getTime() - session.updatedAt.getTime()) / 1000;
    assert.ok(
      Math.abs(delta - expected.expiresIn) <= 5,
      `session.expiresAt - updatedAt should be ~${expected.expiresIn}s, got ${delta}s`,
    );
  }
}

/**
 * Assert a `{data, error}` client result is an error with this status / code.
 * statusText is what better-fetch copies from the HTTP reason phrase.
 * Pass `code: null` for errors whose body carries no code (e.g. 404).
 */
export function assertApiError(res, status, code, message) {
  assert.equal(res.data, null, `expected an error, got data ${JSON.stringify(res.data)}`);
  assert.ok(res.error, "expected an error object");
  assert.equal(res.error.status, status, `status: ${JSON.stringify(res.error)}`);
  assert.equal(res.error.statusText, STATUS_CODES[status], `statusText: ${JSON.stringify(res.error)}`);
  if (code === null) assert.equal(res.error.code, undefined, `expected no code: ${JSON.stringify(res.error)}`);
  else if (code !== undefined) assert.equal(res.error.code, code, `code: ${JSON.stringify(res.error)}`);
  if (typeof message === "string") assert.equal(res.error.message, message);
  else if (message instanceof RegExp) assert.match(res.error.message, message);
}

/** Assert a successful `{data, error}` and return data. */
export function ok(res, label = "request") {
  assert.equal(res.error, null, `${label} failed: ${JSON.stringify(res.error)}`);
  return res.data;
}

// Signed cookie value on the wire: encodeURIComponent(token + "." + base64std(HMAC)),
// the signature being 44 chars ending in "=" (contract §3.3).
const SIGNED_VALUE = /^([^.;\s]+)\.([A-Za-z0-9%]+)$/;

/** Split a wire cookie value into {token, signature} and check the signature format. */
export function parseSignedValue(wire) {
  const m = SIGNED_VALUE.exec(wire);
  assert.ok(m, `signed cookie value has the wrong shape: ${wire}`);
  assert.ok(!/[+/=]/.test(m[2]), `signature must be URL-encoded on the wire: ${m[2]}`);
  const token = decodeURIComponent(m[1]);
  const signature = decodeURIComponent(m[2]);
  assert.match(signature, /^[A-Za-z0-9+/]{43}=$/, `signature must be 44-char standard base64: ${signature}`);
  return { token, signature };
}

/**
 * Assert the exact session_token Set-Cookie line (contract §3.2):
 *   better-auth.session_token=<token>.<sig>; Max-Age=604800; Path=/; HttpOnly; SameSite=Lax
 * or without Max-Age when `remember` is false. Returns the decoded token.
 */
export function assertSessionCookieLine(line, { remember = true, token } = {}) {
  assert.ok(line, `expected a ${SESSION_COOKIE} Set-Cookie line`);
  const tail = remember ? `; Max-Age=${SEVEN_DAYS_S}; Path=/; HttpOnly; SameSite=Lax` : "; Path=/; HttpOnly; SameSite=Lax";
  const prefix = `${SESSION_COOKIE}=`;
  assert.ok(line.startsWith(prefix), `cookie line should start with ${prefix}: ${line}`);
  assert.ok(line.endsWith(tail), `cookie line attributes should be exactly "${tail}": ${line}`);
  const wire = line.slice(prefix.length, line.length - tail.length);
  const parsed = parseSignedValue(wire);
  if (token !== undefined) assert.equal(parsed.token, token, "cookie token should equal the returned token");
  return parsed.token;
}

/** Assert the exact deletion line `<name>=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax`. */
export function assertDeletionLine(lines, name) {
  const expected = `${name}=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax`;
  assert.ok(lines.includes(expected), `expected Set-Cookie "${expected}" in ${JSON.stringify(lines)}`);
}

/** Every Set-Cookie line in `lines` is a deletion (Max-Age=0) -- nothing new is set. */
export function assertOnlyDeletions(lines) {
  for (const l of lines) {
    const { attrs } = parseSetCookie(l);
    assert.equal(attrs["max-age"], "0", `expected only cookie deletions, got: ${l}`);
  }
}
