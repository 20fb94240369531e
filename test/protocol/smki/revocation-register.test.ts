import test from 'ava';
import { RevocationRegister, countsAsValid } from '../../../protocol/smki/revocation-register.ts';
import { T0, hoursAfter } from './support.ts';

const cert = { issuer: 'CN=HIL-OCA,OU=07', serial: '1234' };
const other = { issuer: 'CN=Z1,OU=07', serial: '1234' };

test('immediate revocation: valid before the order, revoked from then on', (t) => {
  const reg = new RevocationRegister();
  const rec = reg.revoke(cert, { requestedAt: T0, reason: 'keyCompromise' });
  t.deepEqual(rec.effectiveAt, T0);
  t.deepEqual(reg.status(cert, hoursAfter(T0, -1)), { state: 'valid' });
  const s = reg.status(cert, T0);
  t.is(s.state, 'revoked');
  if (s.state === 'revoked') {
    t.deepEqual(s.since, T0);
    t.is(s.record.reason, 'keyCompromise');
  }
  t.is(reg.status(cert, hoursAfter(T0, 1000)).state, 'revoked');
  t.deepEqual(reg.status(other, hoursAfter(T0, 1)), { state: 'valid' }, 'same serial, other issuer: unaffected');
});

test('PMA-ordered delayed revocation: still valid until it takes effect', (t) => {
  const reg = new RevocationRegister();
  const until = hoursAfter(T0, 72);
  reg.revoke(cert, { requestedAt: T0, effectiveAt: until, orderedBy: 'PMA' });
  t.deepEqual(reg.status(cert, hoursAfter(T0, -1)), { state: 'valid' });
  const during = reg.status(cert, hoursAfter(T0, 71));
  t.is(during.state, 'revocation-delayed-until');
  if (during.state === 'revocation-delayed-until') {
    t.deepEqual(during.until, until);
    t.is(during.record.orderedBy, 'PMA');
  }
  t.true(countsAsValid(during));
  const after = reg.status(cert, until);
  t.is(after.state, 'revoked');
  t.false(countsAsValid(after));
  t.deepEqual(reg.pending(hoursAfter(T0, 1)).map((r) => r.serial), ['1234']);
  t.deepEqual(reg.pending(until), []);
});

test('the PMA may bring a pending revocation forward or extend it; an effective one cannot be re-ordered', (t) => {
  const reg = new RevocationRegister();
  reg.revoke(cert, { requestedAt: T0, effectiveAt: hoursAfter(T0, 72), orderedBy: 'PMA' });
  reg.revoke(cert, { requestedAt: hoursAfter(T0, 1), effectiveAt: hoursAfter(T0, 96) });
  t.deepEqual(reg.record(cert)?.effectiveAt, hoursAfter(T0, 96));
  t.deepEqual(reg.record(cert)?.requestedAt, T0, 'the original order time is kept');
  t.is(reg.status(cert, hoursAfter(T0, 80)).state, 'revocation-delayed-until');
  reg.revoke(cert, { requestedAt: hoursAfter(T0, 2) });
  t.is(reg.status(cert, hoursAfter(T0, 2)).state, 'revoked');
  t.throws(() => reg.revoke(cert, { requestedAt: hoursAfter(T0, 3) }), { name: 'RevocationError', message: /already revoked/ });
});

test('an order dated before the one on record (a clock set back) takes effect from its own time', (t) => {
  const reg = new RevocationRegister();
  reg.revoke(cert, { requestedAt: hoursAfter(T0, 48), effectiveAt: hoursAfter(T0, 96), orderedBy: 'PMA' });
  const rec = reg.revoke(cert, { requestedAt: T0 });
  t.deepEqual([rec.requestedAt, rec.effectiveAt], [T0, T0]);
  t.is(reg.status(cert, T0).state, 'revoked');
  t.is(reg.status(cert, hoursAfter(T0, 50)).state, 'revoked');
});

test('restore puts a stored record back as it was, one ordered after it took effect read as ordered then', (t) => {
  const reg = new RevocationRegister();
  reg.restore({ ...cert, requestedAt: hoursAfter(T0, 48), effectiveAt: T0, reason: 'unspecified', orderedBy: null });
  t.deepEqual(reg.record(cert)?.requestedAt, T0);
  t.is(reg.status(cert, T0).state, 'revoked');
});

test('a revocation cannot be backdated', (t) => {
  const reg = new RevocationRegister();
  t.throws(() => reg.revoke(cert, { requestedAt: T0, effectiveAt: hoursAfter(T0, -1) }), { name: 'RevocationError', message: /backdate/ });
  t.deepEqual(reg.status(cert, hoursAfter(T0, 1)), { state: 'valid' });
});

test('effective(issuer, at) lists exactly the revocations of that issuer in effect at that time', (t) => {
  const reg = new RevocationRegister();
  reg.revoke({ issuer: cert.issuer, serial: '1' }, { requestedAt: T0 });
  reg.revoke({ issuer: cert.issuer, serial: '2' }, { requestedAt: T0, effectiveAt: hoursAfter(T0, 10) });
  reg.revoke({ issuer: other.issuer, serial: '3' }, { requestedAt: T0 });
  t.deepEqual(reg.effective(cert.issuer, hoursAfter(T0, 1)).map((r) => r.serial), ['1']);
  t.deepEqual(reg.effective('CN=HIL-OCA, OU=07', hoursAfter(T0, 10)).map((r) => r.serial), ['1', '2'], 'spaces after commas do not matter');
  t.deepEqual(reg.effective(other.issuer, hoursAfter(T0, 1)).map((r) => r.serial), ['3']);
});
