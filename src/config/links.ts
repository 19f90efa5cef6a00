/**
 * Links and their devices: each link resolved with its defaults, and the
 * rules between them — a device is on a known link or has a host of its
 * own, never both; unit ids are unique on a link (1..247 on RTU, where 0 is
 * a broadcast); a timeout leaves a reply the time the line needs to carry it.
 */
import { type Parity, lineTiming } from '../modbus/index.js';
import type { RawLink } from './link-schema.js';
import type { RuleProblem } from './schema.js';

interface LinkBase {
  name: string;
  description: string;
}

export interface SerialLinkConfig extends LinkBase {
  kind: 'serial';
  path: string;
  baud: number;
  parity: Parity;
  dataBits: 8;
  stopBits: 1 | 2;
}

export interface NetworkLinkConfig extends LinkBase {
  /** RTU frames in a TCP stream (a converter), or Modbus/TCP (a gateway). */
  kind: 'rtuOverTcp' | 'tcp';
  host: string;
  port: number;
}

export type LinkConfig = SerialLinkConfig | NetworkLinkConfig;

/** What the rules need of a device. */
export interface LinkedDevice {
  name: string;
  host: string;
  port: number;
  link?: string;
  unitId: number;
  timeoutMs: number;
  window: number;
  maxRegisters: number;
  maxBits: number;
}

function hostAndPort(text: string): { host: string; port: number } {
  const i = text.lastIndexOf(':');
  return { host: text.slice(0, i).replace(/^\[(.*)\]$/, '$1'), port: Number(text.slice(i + 1)) };
}

export function resolveLink(name: string, l: RawLink): LinkConfig {
  const base = { name, description: l.description };
  if (l.serial !== undefined) {
    return { ...base, kind: 'serial', path: l.serial, baud: l.baud ?? 19200, parity: l.parity ?? 'even', dataBits: 8, stopBits: l.stopBits ?? 1 };
  }
  return { ...base, kind: l.rtuOverTcp !== undefined ? 'rtuOverTcp' : 'tcp', ...hostAndPort(l.rtuOverTcp ?? l.tcp ?? '') };
}

/** For people: "/dev/ttyUSB0 19200 8E1", "RTU over TCP 10.0.0.7:4001", "Modbus/TCP 10.0.0.7:502". */
export function describeLink(l: LinkConfig): string {
  if (l.kind === 'serial') return `${l.path} ${l.baud} ${l.dataBits}${l.parity[0]!.toUpperCase()}${l.stopBits}`;
  return `${l.kind === 'tcp' ? 'Modbus/TCP' : 'RTU over TCP'} ${l.host.includes(':') ? `[${l.host}]` : l.host}:${l.port}`;
}

/** Where a device is, for people: "10.0.0.9:502 unit 1", or "unit 3 on link rs485: /dev/ttyUSB0 19200 8E1". */
export function deviceAddress(d: LinkedDevice, links: readonly LinkConfig[]): string {
  const link = d.link === undefined ? undefined : links.find((l) => l.name === d.link);
  return link ? `unit ${d.unitId} on link ${link.name}: ${describeLink(link)}` : `${d.host}:${d.port} unit ${d.unitId}`;
}

/**
 * Where a device is, as the devices page says it: "10.0.0.9:502, unit 1"; "unit 2 on line rs485 (/dev/ttyUSB0,
 * 19200 8N1)"; "unit 5 via converter (RTU over TCP, 10.0.0.7:4001)"; "unit 3 via gw1 (10.0.0.8:502)".
 */
export function deviceWhere(d: LinkedDevice, links: readonly LinkConfig[]): string {
  const link = d.link === undefined ? undefined : links.find((l) => l.name === d.link);
  if (!link) return `${d.host.includes(':') ? `[${d.host}]` : d.host}:${d.port}, unit ${d.unitId}`;
  if (link.kind === 'serial') return `unit ${d.unitId} on line ${link.name} (${link.path}, ${link.baud} ${link.dataBits}${link.parity[0]!.toUpperCase()}${link.stopBits})`;
  const at = `${link.host.includes(':') ? `[${link.host}]` : link.host}:${link.port}`;
  return `unit ${d.unitId} via ${link.name} (${link.kind === 'rtuOverTcp' ? `RTU over TCP, ${at}` : at})`;
}

/** Bytes of the longest reply a device may get: a read of maxRegisters registers or maxBits bits (unit, function, count, data, CRC). */
function longestReply(d: LinkedDevice): number {
  return 5 + Math.max(2 * d.maxRegisters, Math.ceil(d.maxBits / 8));
}

/**
 * Places each device on its link (a device on a network link gets the link's
 * host and port; on a serial line, the port's path) and reports what does not
 * fit. `declaredLinks` names every link of the file, valid or not, so that a
 * device on a link with problems of its own is not also reported.
 */
export function placeDevices(devices: LinkedDevice[], links: readonly LinkConfig[], declaredLinks: ReadonlySet<string>, problems: RuleProblem[]): void {
  const byName = new Map(links.map((l) => [l.name, l]));
  const units = new Map<string, Map<number, string>>();
  for (const d of devices) {
    const at = (field: string): (string | number)[] => ['devices', d.name, field];
    if (d.link === undefined) {
      if (d.host === '') problems.push({ path: at('host'), message: `is required: the device's address${links.length > 0 ? `, or the link it is on (links: ${links.map((l) => l.name).join(', ')})` : ''}` });
      continue;
    }
    if (d.host !== '') problems.push({ path: at('host'), message: `a device on a link takes its address from link "${d.link}": remove host and port` });
    const link = byName.get(d.link);
    if (!link) {
      if (!declaredLinks.has(d.link)) problems.push({ path: at('link'), message: `unknown link "${d.link}" (links: ${[...declaredLinks].join(', ') || 'none'})` });
      continue;
    }
    const rtu = link.kind !== 'tcp';
    if (rtu && (d.unitId < 1 || d.unitId > 247)) {
      problems.push({ path: at('unitId'), message: `expected 1..247 on an RTU link: ${d.unitId === 0 ? 'unit 0 is a broadcast, which no device answers' : 'addresses above 247 are reserved'}` });
    }
    // A gateway's Modbus/TCP frames carry transaction ids, so it honours window; RTU frames do not.
    if (rtu && d.window > 1) {
      problems.push({
        path: at('window'),
        message: `expected 1 on ${link.kind === 'serial' ? 'a serial line' : 'an RTU-over-TCP link'} ("${link.name}"): RTU frames carry no transaction id, so one request at a time goes on the line; remove window`,
      });
    }
    const taken = units.get(link.name) ?? new Map<number, string>();
    units.set(link.name, taken);
    const other = taken.get(d.unitId);
    if (other !== undefined) problems.push({ path: at('unitId'), message: `unit ${d.unitId} is already device "${other}" on link "${link.name}": every device on a link needs its own unit id` });
    else taken.set(d.unitId, d.name);
    if (link.kind === 'serial') {
      d.host = link.path;
      d.port = 0;
      const t = lineTiming(link);
      const replyMs = longestReply(d) * t.charMs + t.interFrameMs;
      if (d.timeoutMs < replyMs) {
        problems.push({
          path: at('timeout'),
          message: `${d.timeoutMs} ms is shorter than the longest reply takes on ${describeLink(link)}: ${longestReply(d)} bytes (maxRegisters ${d.maxRegisters}, maxBits ${d.maxBits}) need ${Math.ceil(replyMs)} ms; raise the timeout or lower maxRegisters/maxBits`,
        });
      }
    } else {
      d.host = link.host;
      d.port = link.port;
    }
  }
}
