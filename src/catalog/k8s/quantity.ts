const QUANTITY =
  /^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$/;

const FACTORS: Record<string, number> = {
  '': 1,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** A Kubernetes quantity (`250m`, `1Gi`, `2`) as a number, or null when it is not one. */
export function parseQuantity(text: unknown): number | null {
  const raw = typeof text === 'number' ? String(text) : text;
  if (typeof raw !== 'string') return null;
  const match = QUANTITY.exec(raw.trim());
  if (!match) return null;
  const value = Number(match[1]);
  const suffix = match[2] ?? '';
  if (/^[eE]/.test(suffix)) return value * 10 ** Number(suffix.slice(1));
  const factor = FACTORS[suffix];
  return factor === undefined ? null : value * factor;
}
