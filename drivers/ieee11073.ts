import { HubError } from "../src/core/errors.js";
import type { LocalDateTime } from "../src/core/time.js";

/** An IEEE 11073-20601 number: a finite value, or a special value that must never become a number. */
export type Medical =
  | { ok: true; value: number }
  | { ok: false; special: "nan" | "nres" | "+inf" | "-inf" | "reserved" };

/** A little-endian cursor over a frame that fails with FRAME_SHORT instead of reading past the end. */
export class Reader {
  private offset = 0;
  constructor(
    private readonly bytes: Uint8Array,
    private readonly what: string,
  ) {}

  private need(n: number): number {
    if (this.offset + n > this.bytes.length) {
      throw new HubError(
        "FRAME_SHORT",
        `${this.what}: frame is ${this.bytes.length} bytes, needed ${this.offset + n} at least`,
      );
    }
    const at = this.offset;
    this.offset += n;
    return at;
  }

  u8(): number {
    return this.bytes[this.need(1)] as number;
  }
  u16(): number {
    const at = this.need(2);
    return (this.bytes[at] as number) | ((this.bytes[at + 1] as number) << 8);
  }
  u24(): number {
    const at = this.need(3);
    return (
      (this.bytes[at] as number) |
      ((this.bytes[at + 1] as number) << 8) |
      ((this.bytes[at + 2] as number) << 16)
    );
  }
  s16(): number {
    const v = this.u16();
    return v >= 0x8000 ? v - 0x10000 : v;
  }
  sfloat(): Medical {
    return sfloat(this.u16());
  }
  float(): Medical {
    const at = this.need(4);
    const raw =
      ((this.bytes[at] as number) |
        ((this.bytes[at + 1] as number) << 8) |
        ((this.bytes[at + 2] as number) << 16) |
        ((this.bytes[at + 3] as number) << 24)) >>>
      0;
    return float32(raw);
  }
  dateTime(): LocalDateTime {
    return {
      year: this.u16(),
      month: this.u8(),
      day: this.u8(),
      hours: this.u8(),
      minutes: this.u8(),
      seconds: this.u8(),
    };
  }
  skip(n: number): void {
    this.need(n);
  }
  get remaining(): number {
    return this.bytes.length - this.offset;
  }
  /**
   * Every byte the flags announced has been read: anything left over is garbage (FRAME_MALFORMED),
   * unless a reserved flag bit is set — the Bluetooth SIG extends a characteristic only by appending
   * fields announced by a new flag bit, so a newer device's extra fields follow the ones we know.
   */
  end(flags: number, reservedMask: number): void {
    if (this.remaining > 0 && (flags & reservedMask) === 0) {
      throw new HubError(
        "FRAME_MALFORMED",
        `${this.what}: ${this.remaining} byte(s) after the last field the flags announce`,
      );
    }
  }
}

const SFLOAT_SPECIAL: Record<number, Exclude<Medical, { ok: true }>["special"]> = {
  2047: "nan",
  2048: "nres",
  2046: "+inf",
  2050: "-inf",
  2049: "reserved",
};

/** SFLOAT: 4-bit signed exponent, 12-bit signed mantissa. */
export function sfloat(raw: number): Medical {
  const mantissaBits = raw & 0x0fff;
  const special = SFLOAT_SPECIAL[mantissaBits];
  // Special values are exact raw values: exponent 0 with a reserved mantissa.
  if (special && raw >> 12 === 0) return { ok: false, special };
  const exponent = raw >> 12 >= 0x8 ? (raw >> 12) - 0x10 : raw >> 12;
  const mantissa = mantissaBits >= 0x0800 ? mantissaBits - 0x1000 : mantissaBits;
  return { ok: true, value: scale(mantissa, exponent) };
}

const FLOAT_SPECIAL: Record<number, Exclude<Medical, { ok: true }>["special"]> = {
  8388607: "nan",
  8388608: "nres",
  8388606: "+inf",
  8388610: "-inf",
  8388609: "reserved",
};

/** FLOAT: 8-bit signed exponent, 24-bit signed mantissa. */
export function float32(raw: number): Medical {
  const mantissaBits = raw & 0xffffff;
  const special = FLOAT_SPECIAL[mantissaBits];
  const expBits = (raw >>> 24) & 0xff;
  if (special && expBits === 0) return { ok: false, special };
  const exponent = expBits >= 0x80 ? expBits - 0x100 : expBits;
  const mantissa = mantissaBits >= 0x800000 ? mantissaBits - 0x1000000 : mantissaBits;
  return { ok: true, value: scale(mantissa, exponent) };
}

/** mantissa × 10^exponent without binary noise for negative exponents (152.2, not 152.20000000000002). */
function scale(mantissa: number, exponent: number): number {
  // (At exponent 0 both branches give the mantissa: a mutant moving the boundary there is equivalent.)
  return exponent >= 0 ? mantissa * 10 ** exponent : mantissa / 10 ** -exponent;
}

/** A Date Time with zero year/month/day means "unknown": no device time. */
export function knownTime(t: LocalDateTime): LocalDateTime | undefined {
  return t.year === 0 || t.month === 0 || t.day === 0 ? undefined : t;
}

export function bit(flags: number, n: number): boolean {
  return ((flags >> n) & 1) === 1;
}

export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
