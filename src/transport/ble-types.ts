/**
 * The part of @abandonware/noble's API the BLE transport uses. The real noble and the scripted
 * fake in tests both satisfy it, so the transport code itself is what the tests exercise.
 */
export interface NobleCharacteristic {
  uuid: string;
  properties: string[];
  subscribeAsync(): Promise<void>;
  readAsync(): Promise<Buffer>;
  writeAsync(data: Buffer, withoutResponse: boolean): Promise<void>;
  on(event: "data", listener: (data: Buffer, isNotification: boolean) => void): unknown;
  removeAllListeners(event?: string): unknown;
}

export interface NoblePeripheral {
  id: string;
  address: string;
  advertisement: { localName?: string; serviceUuids?: string[] };
  state: string;
  connectAsync(): Promise<void>;
  disconnectAsync(): Promise<void>;
  discoverSomeServicesAndCharacteristicsAsync(
    serviceUuids: string[],
    characteristicUuids: string[],
  ): Promise<{ characteristics: NobleCharacteristic[] }>;
  once(event: "disconnect", listener: (reason?: unknown) => void): unknown;
  removeAllListeners(event?: string): unknown;
}

export interface NobleLike {
  state: string;
  on(event: "discover", listener: (p: NoblePeripheral) => void): unknown;
  on(event: "stateChange", listener: (state: string) => void): unknown;
  removeListener(event: "discover", listener: (p: NoblePeripheral) => void): unknown;
  removeListener(event: "stateChange", listener: (state: string) => void): unknown;
  startScanningAsync(serviceUuids: string[], allowDuplicates: boolean): Promise<void>;
  stopScanningAsync(): Promise<void>;
}
