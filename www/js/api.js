/* livedge console: the admin API client (docs/CONSOLE.md).
 *
 * Face (everything else here is private):
 *   LE.api(action, params) -> Promise of the parsed JSON answer of Action
 *       (POST to the admin port's "/", Format=JSON, Version=2016-11-01,
 *       signed with signature v1 when keys are set). A failure rejects with
 *       an Error whose .Code and .Message are the API's (or "NetworkError"),
 *       .status the HTTP status and .RequestId the API's request id.
 *   LE.auth.set(id, secret) / LE.auth.clear() / LE.auth.mode()
 *       the AccessKey lives in sessionStorage only (gone when the tab
 *       closes); mode() is "keys", "loopback" (no keys: the API answers on
 *       loopback only) or null (not signed in).
 *   LE.md5hex(string) -> hex MD5 (for the domains' URL signing, aliauth).
 *
 * Signature v1 (livedge(8), ADMIN API): canonical = the parameters sorted
 * by name, each enc(name)=enc(value) joined by '&'; StringToSign =
 * "POST&%2F&" + enc(canonical); Signature = base64(HMAC-SHA1(secret + "&",
 * StringToSign)); enc is RFC 3986 (A-Z a-z 0-9 - _ . ~ kept). The HMAC is
 * WebCrypto's; outside a secure context (plain http to a non-loopback
 * address) browsers hide WebCrypto, and a small SHA-1 below takes over. */
(function () {
  'use strict';
  var LE = window.LE = window.LE || {};
  var SS = window.sessionStorage;

  LE.auth = {
    set: function (id, secret) { SS.setItem('le.ak', id); SS.setItem('le.sk', secret); SS.setItem('le.mode', 'keys'); },
    loopback: function () { SS.removeItem('le.ak'); SS.removeItem('le.sk'); SS.setItem('le.mode', 'loopback'); },
    clear: function () { SS.removeItem('le.ak'); SS.removeItem('le.sk'); SS.removeItem('le.mode'); },
    mode: function () { return SS.getItem('le.mode'); },
    id: function () { return SS.getItem('le.ak') || ''; }
  };

  function enc(s) {
    return encodeURIComponent(s).replace(/[!'()*]/g, function (c) {
      return '%' + c.charCodeAt(0).toString(16).toUpperCase();
    });
  }
  function utf8(s) { return new TextEncoder().encode(s); }
  function b64(bytes) {
    var s = '';
    for (var i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return btoa(s);
  }

  /* SHA-1 (FIPS 180-4) on bytes; only where WebCrypto is not offered. */
  function sha1(m) {
    var l = m.length, n = ((l + 8) >> 6) + 1, w = new Uint32Array(n * 16), i;
    for (i = 0; i < l; i++) w[i >> 2] |= m[i] << (24 - (i & 3) * 8);
    w[l >> 2] |= 0x80 << (24 - (l & 3) * 8);
    w[n * 16 - 1] = l * 8;
    var h0 = 0x67452301, h1 = 0xEFCDAB89, h2 = 0x98BADCFE, h3 = 0x10325476, h4 = 0xC3D2E1F0, x = new Uint32Array(80);
    for (var b = 0; b < n * 16; b += 16) {
      for (i = 0; i < 16; i++) x[i] = w[b + i];
      for (i = 16; i < 80; i++) { var t = x[i - 3] ^ x[i - 8] ^ x[i - 14] ^ x[i - 16]; x[i] = (t << 1) | (t >>> 31); }
      var a = h0, bb = h1, c = h2, d = h3, e = h4;
      for (i = 0; i < 80; i++) {
        var f, k;
        if (i < 20) { f = (bb & c) | (~bb & d); k = 0x5A827999; }
        else if (i < 40) { f = bb ^ c ^ d; k = 0x6ED9EBA1; }
        else if (i < 60) { f = (bb & c) | (bb & d) | (c & d); k = 0x8F1BBCDC; }
        else { f = bb ^ c ^ d; k = 0xCA62C1D6; }
        var tmp = (((a << 5) | (a >>> 27)) + f + e + k + x[i]) >>> 0;
        e = d; d = c; c = (bb << 30) | (bb >>> 2); bb = a; a = tmp;
      }
      h0 = (h0 + a) >>> 0; h1 = (h1 + bb) >>> 0; h2 = (h2 + c) >>> 0; h3 = (h3 + d) >>> 0; h4 = (h4 + e) >>> 0;
    }
    var out = new Uint8Array(20), hs = [h0, h1, h2, h3, h4];
    for (i = 0; i < 20; i++) out[i] = (hs[i >> 2] >>> (24 - (i & 3) * 8)) & 255;
    return out;
  }
  function hmacSha1Js(key, msg) {
    if (key.length > 64) key = sha1(key);
    var ip = new Uint8Array(64 + msg.length), op = new Uint8Array(84), i;
    for (i = 0; i < 64; i++) { var kb = i < key.length ? key[i] : 0; ip[i] = kb ^ 0x36; op[i] = kb ^ 0x5c; }
    ip.set(msg, 64);
    op.set(sha1(ip), 64);
    return sha1(op);
  }
  function hmacSha1(secret, msg) {
    var key = utf8(secret + '&'), data = utf8(msg);
    if (window.crypto && crypto.subtle) {
      return crypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-1' }, false, ['sign'])
        .then(function (k) { return crypto.subtle.sign('HMAC', k, data); })
        .then(function (sig) { return b64(new Uint8Array(sig)); });
    }
    return Promise.resolve(b64(hmacSha1Js(key, data)));
  }
  LE._hmacSha1 = hmacSha1;   /* tests */

  function nonce() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var a = new Uint8Array(16);
    crypto.getRandomValues(a);
    return Array.prototype.map.call(a, function (x) { return (x + 256).toString(16).slice(1); }).join('');
  }

  function sign(params) {
    var secret = SS.getItem('le.sk');
    params.AccessKeyId = SS.getItem('le.ak');
    params.SignatureMethod = 'HMAC-SHA1';
    params.SignatureVersion = '1.0';
    params.SignatureNonce = nonce();
    params.Timestamp = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    var names = Object.keys(params).sort(function (a, b) {
      return a < b ? -1 : a > b ? 1 : (params[a] < params[b] ? -1 : 1);
    });
    var canon = names.map(function (n) { return enc(n) + '=' + enc(params[n]); }).join('&');
    return hmacSha1(secret, 'POST&%2F&' + enc(canon)).then(function (sig) {
      params.Signature = sig;
      return params;
    });
  }

  function fail(code, message, status, rid) {
    var e = new Error(code + ': ' + message);
    e.Code = code;
    e.Message = message;
    e.status = status || 0;
    e.RequestId = rid || '';
    return e;
  }

  LE.api = function (action, params) {
    var p = { Action: action, Format: 'JSON', Version: '2016-11-01' };
    Object.keys(params || {}).forEach(function (k) {
      var v = params[k];
      if (v !== undefined && v !== null && v !== '') p[k] = String(v);
    });
    var ready = LE.auth.mode() === 'keys' ? sign(p) : Promise.resolve(p);
    return ready.then(function (q) {
      var body = Object.keys(q).map(function (n) { return enc(n) + '=' + enc(q[n]); }).join('&');
      return fetch('/', {
        method: 'POST', body: body, cache: 'no-store', credentials: 'omit',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' }
      }).catch(function (e) { throw fail('NetworkError', String(e.message || e)); });
    }).then(function (res) {
      return res.text().then(function (t) {
        var j = null;
        try { j = JSON.parse(t); } catch (e) { /* not JSON */ }
        if (!res.ok)
          throw fail(j && j.Code || 'HTTP' + res.status, j && j.Message || t.slice(0, 200), res.status, j && j.RequestId);
        if (!j) throw fail('BadResponse', 'The answer is not JSON.', res.status);
        return j;
      });
    });
  };

  /* MD5 (RFC 1321) of a UTF-8 string, hex: aliauth's hash (livedge.conf(5)). */
  LE.md5hex = function (str) {
    var m = utf8(str), l = m.length, n = ((l + 8) >> 6) + 1, w = new Uint32Array(n * 16), i;
    for (i = 0; i < l; i++) w[i >> 2] |= m[i] << ((i & 3) * 8);
    w[l >> 2] |= 0x80 << ((l & 3) * 8);
    w[n * 16 - 2] = (l * 8) >>> 0;
    w[n * 16 - 1] = Math.floor(l / 0x20000000);
    var S = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21], K = [];
    for (i = 0; i < 64; i++) K[i] = Math.floor(Math.abs(Math.sin(i + 1)) * 4294967296) >>> 0;
    var a0 = 0x67452301, b0 = 0xefcdab89, c0 = 0x98badcfe, d0 = 0x10325476;
    for (var b = 0; b < n * 16; b += 16) {
      var A = a0, B = b0, C = c0, D = d0;
      for (i = 0; i < 64; i++) {
        var F, g;
        if (i < 16) { F = (B & C) | (~B & D); g = i; }
        else if (i < 32) { F = (D & B) | (~D & C); g = (5 * i + 1) & 15; }
        else if (i < 48) { F = B ^ C ^ D; g = (3 * i + 5) & 15; }
        else { F = C ^ (B | ~D); g = (7 * i) & 15; }
        F = (F + A + K[i] + w[b + g]) >>> 0;
        A = D; D = C; C = B;
        var s = S[(i >> 4) * 4 + (i & 3)];
        B = (B + ((F << s) | (F >>> (32 - s)))) >>> 0;
      }
      a0 = (a0 + A) >>> 0; b0 = (b0 + B) >>> 0; c0 = (c0 + C) >>> 0; d0 = (d0 + D) >>> 0;
    }
    return [a0, b0, c0, d0].map(function (v) {
      var h = '';
      for (var j = 0; j < 4; j++) h += ((v >>> (j * 8)) & 255 | 256).toString(16).slice(1);
      return h;
    }).join('');
  };
})();
