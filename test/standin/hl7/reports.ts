/**
 * What PKB's record holds per ORU report id (OBR-3.1), as PKB.md describes it: every ORU^R01
 * accepted adds a copy of its measurements under its report id (PKB de-duplicates nothing), and
 * an ORU with OBR-25 = `R` marks every measurement previously received under that report id as
 * deleted (its OBX, if any, are ignored). "Live" = received and not deleted since: the count
 * chaos scripts and tests compare with 1.
 */

export interface Measurement {
  reportId: string;
  /** Set when a later retraction (OBR-25 `R`) of the same report id deleted it. */
  deleted?: boolean;
}

/** One accepted ORU^R01: its measurements as PKB filed them under its report id. */
export interface ReportCopy<M extends Measurement = Measurement> {
  nhsNumber: string;
  reportId: string;
  /** MSH-10 of the ORU that brought this copy. */
  controlId: string;
  measurements: M[];
  /** MSH-10 of the retraction that deleted it, once one did. */
  retractedBy?: string;
}

export class ReportLedger<M extends Measurement = Measurement> {
  private readonly copies: Array<ReportCopy<M>> = [];
  /** Retractions accepted (OBR-25 `R`), whether or not they found anything to delete. */
  retractions = 0;

  add(copy: ReportCopy<M>): void {
    this.copies.push(copy);
  }

  /**
   * Deletes every live measurement the patient has under `reportId`; returns how many. A report
   * id with nothing live is not an error (PKB.md does not say: a question to confirm with PKB).
   */
  retract(nhsNumber: string, reportId: string, controlId: string): number {
    this.retractions++;
    let deleted = 0;
    for (const c of this.copies) {
      if (c.nhsNumber !== nhsNumber || c.reportId !== reportId || c.retractedBy !== undefined) continue;
      c.retractedBy = controlId;
      for (const m of c.measurements) m.deleted = true;
      deleted += c.measurements.length;
    }
    return deleted;
  }

  /** Copies of the report live in the record: 1 after an exactly-once delivery, 0 if lost, 2+ duplicated. */
  liveCopies(reportId: string): number {
    return this.live().filter((c) => c.reportId === reportId).length;
  }

  /** Live measurements (OBX) filed under the report id. */
  liveMeasurements(reportId: string): number {
    return this.live()
      .filter((c) => c.reportId === reportId)
      .reduce((n, c) => n + c.measurements.length, 0);
  }

  /** Every live ORU, in the order received. */
  live(): Array<ReportCopy<M>> {
    return this.copies.filter((c) => c.retractedBy === undefined);
  }

  /** Every ORU ever accepted, deleted ones included. */
  all(): Array<ReportCopy<M>> {
    return [...this.copies];
  }

  /** Report ids with more than one live copy (duplicates in the record), with their count. */
  duplicated(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const c of this.live()) counts.set(c.reportId, (counts.get(c.reportId) ?? 0) + 1);
    return new Map([...counts].filter(([, n]) => n > 1));
  }
}
