import { HubError } from "../../src/core/errors.js";
import { ENQ, EOT, tryParseFrame } from "./astm.js";

/** What the receiver made of one item (a control byte or a frame) and what the hub must answer. */
export type Received =
  /** ENQ: a transfer starts; answer ACK. */
  | { kind: "establish" }
  /** EOT: the transfer ends; a record cut off by it (text after the last CR) is dropped. */
  | { kind: "end"; droppedText: string }
  /**
   * A new frame in order: the complete records it finished (decode them, store them, then ACK).
   * `rollback` undoes the frame if its records could not be stored, so the meter's re-sent copy is
   * decoded again instead of being taken for a repeat.
   */
  | { kind: "records"; records: string[]; rollback: () => void }
  /** The last accepted frame again (the meter missed our ACK): ACK it, decode nothing. */
  | { kind: "repeat" }
  /** A damaged or out-of-order frame: NAK it; the meter re-sends that frame only. */
  | { kind: "reject"; error: HubError }
  /** A frame outside a transfer (no ENQ before it): E1381's neutral state answers nothing. */
  | { kind: "ignore"; error: HubError };

/**
 * The receiving side of ASTM E1381. After ENQ the first frame is number 1, then each frame the next
 * number modulo 8. A frame with the number of the last accepted one is a repeat; any other number,
 * a bad checksum or a malformed frame is rejected (NAK) and nothing already received is lost — the
 * meter re-sends only the rejected frame. E1394 records end with CR and may span frames: the text
 * after the last CR waits for the next frame (ETB), or is the last record of the message (ETX).
 */
export class AstmReceiver {
  private transfer = false;
  private last: number | undefined;
  // Stryker disable next-line StringLiteral: ENQ resets it before any frame is accepted
  private partial = "";

  receive(item: Uint8Array): Received {
    // The splitter gives control bytes alone and frames starting with STX: the first byte tells them apart.
    if (item[0] === ENQ) {
      this.reset(true);
      return { kind: "establish" };
    }
    if (item[0] === EOT) {
      const droppedText = this.partial;
      this.reset(false);
      return { kind: "end", droppedText };
    }
    if (!this.transfer)
      return {
        kind: "ignore",
        error: new HubError("FRAME_MALFORMED", "ASTM frame outside a transfer (no ENQ)"),
      };
    const frame = tryParseFrame(item);
    if (frame instanceof HubError) return { kind: "reject", error: frame };
    if (frame.frameNumber === this.last) return { kind: "repeat" };
    const expected = this.last === undefined ? 1 : (this.last + 1) % 8;
    if (frame.frameNumber !== expected) {
      return {
        kind: "reject",
        error: new HubError(
          "FRAME_MALFORMED",
          `ASTM frame number ${frame.frameNumber}, expected ${expected}`,
        ),
      };
    }
    const before = { transfer: this.transfer, last: this.last, partial: this.partial };
    this.last = frame.frameNumber;
    const parts = (this.partial + frame.text).split("\r");
    this.partial = frame.final ? "" : (parts.pop() as string);
    return {
      kind: "records",
      records: parts.filter((r) => r !== ""),
      rollback: () => {
        this.transfer = before.transfer;
        this.last = before.last;
        this.partial = before.partial;
      },
    };
  }

  private reset(transfer: boolean): void {
    this.transfer = transfer;
    this.last = undefined;
    this.partial = "";
  }
}
