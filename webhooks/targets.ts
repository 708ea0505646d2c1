import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import { BlockList, isIP } from 'node:net'
import { buildConnector, type Dispatcher } from 'undici'

/** Resolves a name to every address it has (the shape of `dns.lookup` with `all: true`). */
export type Lookup = (hostname: string, options: { family?: number, all: true },
  callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void

// Never a webhook target: link-local (where cloud metadata services live), other metadata addresses, and the
// unspecified address (0.0.0.0 reaches the host itself on Linux). IPv4-mapped IPv6 is checked against the IPv4 rules.
const FORBIDDEN = new BlockList()
FORBIDDEN.addSubnet('169.254.0.0', 16, 'ipv4')
FORBIDDEN.addSubnet('0.0.0.0', 8, 'ipv4')
FORBIDDEN.addAddress('100.100.100.200', 'ipv4') // Alibaba Cloud metadata
FORBIDDEN.addSubnet('fe80::', 10, 'ipv6')
FORBIDDEN.addAddress('::', 'ipv6')
FORBIDDEN.addAddress('fd00:ec2::254', 'ipv6') // AWS metadata over IPv6
FORBIDDEN.addSubnet('64:ff9b::a9fe:0', 112, 'ipv6') // 169.254.0.0/16 through NAT64
const LOOPBACK = new BlockList()
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4')
LOOPBACK.addAddress('::1', 'ipv6')
LOOPBACK.addSubnet('64:ff9b::7f00:0', 104, 'ipv6')
const METADATA_NAMES = new Set(['metadata.google.internal', 'metadata.goog', 'metadata'])

export type TargetProblem = 'forbidden' | 'loopback'

export const TARGET_MESSAGES: Record<TargetProblem, string> = {
  forbidden: 'url must not point at a link-local, cloud metadata or unspecified address',
  loopback: 'url must not point at a loopback address unless WEBHOOK_ALLOW_LOOPBACK=true'
}

/** What is wrong with connecting to this IP address, if anything. */
export function addressProblem (address: string, allowLoopback: boolean): TargetProblem | undefined {
  const family = isIP(address) === 6 ? 'ipv6' : 'ipv4'
  if (FORBIDDEN.check(address, family)) return 'forbidden'
  if (!allowLoopback && LOOPBACK.check(address, family)) return 'loopback'
  return undefined
}

/**
 * The target rule for a URL as saved: its host when it is an address (the URL parser has already turned `0x7f000001`,
 * `2130706433` or `127.1` into `127.0.0.1`), and the names that always mean loopback or metadata. Other names are
 * checked when connecting, on every address they resolve to then.
 */
export function targetProblem (url: string, allowLoopback: boolean): TargetProblem | undefined {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '')
  if (isIP(host)) return addressProblem(host, allowLoopback)
  const name = host.toLowerCase().replace(/\.$/, '')
  if (METADATA_NAMES.has(name)) return 'forbidden'
  if (!allowLoopback && (name === 'localhost' || name.endsWith('.localhost'))) return 'loopback'
  return undefined
}

class TargetRefused extends Error {
  readonly code = 'ERR_WEBHOOK_TARGET_REFUSED'
  constructor (host: string, address: string, problem: TargetProblem) {
    super(`${host} is ${address === host ? '' : `resolved to ${address}, `}${problem === 'loopback' ? 'a loopback address' : 'a link-local, metadata or unspecified address'}; not connecting`)
  }
}

/** The refusal for a name from the addresses it resolved to: any bad one refuses it, a forbidden one before loopback. */
function refusalAmong (hostname: string, addresses: LookupAddress[], allowLoopback: boolean): TargetRefused | undefined {
  const refused = addresses.map(({ address }) => ({ address, problem: addressProblem(address, allowLoopback) }))
    .filter((a) => a.problem !== undefined)
    .sort((a, b) => (a.problem === 'forbidden' ? 0 : 1) - (b.problem === 'forbidden' ? 0 : 1))[0]
  return refused && new TargetRefused(hostname, refused.address, refused.problem!)
}

/**
 * A connector that refuses forbidden targets before any packet leaves: an address literal is checked as it is, a
 * name on every address it resolves to (so one bad address among good ones is enough to refuse).
 */
export function guardedConnector (allowLoopback: boolean, lookup: Lookup = dnsLookup as Lookup, timeout = 10_000): buildConnector.connector {
  const guardedLookup = (hostname: string, options: { family?: number, all?: boolean }, callback: (...args: unknown[]) => void) => {
    lookup(hostname, { family: options.family, all: true }, (err, addresses) => {
      if (err) return callback(err)
      const refused = refusalAmong(hostname, addresses, allowLoopback)
      if (refused) return callback(refused)
      if (addresses.length === 0) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }))
      if (options.all) return callback(null, addresses)
      callback(null, addresses[0].address, addresses[0].family)
    })
  }
  const connect = buildConnector({ lookup: guardedLookup as never, timeout })
  return (options, callback) => {
    const host = options.hostname.replace(/^\[|\]$/g, '')
    const problem = isIP(host) ? addressProblem(host, allowLoopback) : undefined
    if (problem) {
      callback(new TargetRefused(host, host, problem), null)
      return
    }
    connect(options, callback)
  }
}

/**
 * The same target rule in front of a dispatcher whose connections the plugin does not make itself (one passed in):
 * each request's host is checked before it is handed on, an address as it is, a name on every address it resolves to
 * at that moment.
 */
export function guardTargets (dispatcher: Dispatcher, allowLoopback: boolean, lookup: Lookup = dnsLookup as Lookup): Dispatcher {
  const refusal = (hostname: string, callback: (err: Error | null) => void) => {
    const host = hostname.replace(/^\[|\]$/g, '')
    if (isIP(host)) {
      const problem = addressProblem(host, allowLoopback)
      callback(problem ? new TargetRefused(host, host, problem) : null)
      return
    }
    lookup(host, { all: true }, (err, addresses) => {
      if (err) return callback(err)
      callback(refusalAmong(host, addresses, allowLoopback) ?? null)
    })
  }
  return dispatcher.compose((dispatch) => function guardTarget (options, handler) {
    refusal(new URL(String(options.origin)).hostname, (err) => {
      if (err) handler.onResponseError?.(null as never, err)
      else dispatch(options, handler)
    })
    return true
  })
}
