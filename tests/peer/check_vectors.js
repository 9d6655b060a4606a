#!/usr/bin/env node
// Checks the golden vectors (tests/vectors/*.json) against an independent
// MQTT codec, mqtt-packet (pinned in package.json), so that the vectors are not
// merely what our own encoder says.
//
// - Every valid vector is parsed from its hex by mqtt-packet, and every field
//   of the result is compared with the vector's JSON form (mapped to
//   mqtt-packet's names). The parsed object is then generated again with
//   mqtt-packet's generate(); for canonical vectors the bytes must equal the hex.
// - Every invalid vector is parsed too, recording whether mqtt-packet also
//   refuses it.
//
// Every place where the two disagree must be listed, with a reason, in
// known-differences.json; any other difference fails the run, and so does a
// listed difference that no longer occurs. Usage: node check_vectors.js [-v]

'use strict'

const fs = require('fs')
const path = require('path')
const util = require('util')
const mqtt = require('mqtt-packet')

const VECTORS_DIR = path.join(__dirname, '..', 'vectors')
const KNOWN_FILE = path.join(__dirname, 'known-differences.json')
const verbose = process.argv.includes('-v')

// Our JSON property names -> mqtt-packet's, and how values map.
const PROPERTIES = {
  payload_format_indicator: ['payloadFormatIndicator', 'bool'],
  message_expiry_interval: ['messageExpiryInterval', 'num'],
  content_type: ['contentType', 'str'],
  response_topic: ['responseTopic', 'str'],
  correlation_data_hex: ['correlationData', 'hex'],
  subscription_identifiers: ['subscriptionIdentifier', 'ids'],
  session_expiry_interval: ['sessionExpiryInterval', 'num'],
  assigned_client_identifier: ['assignedClientIdentifier', 'str'],
  server_keep_alive: ['serverKeepAlive', 'num'],
  authentication_method: ['authenticationMethod', 'str'],
  authentication_data_hex: ['authenticationData', 'hex'],
  request_problem_information: ['requestProblemInformation', 'bool'],
  will_delay_interval: ['willDelayInterval', 'num'],
  request_response_information: ['requestResponseInformation', 'bool'],
  response_information: ['responseInformation', 'str'],
  server_reference: ['serverReference', 'str'],
  reason_string: ['reasonString', 'str'],
  receive_maximum: ['receiveMaximum', 'num'],
  topic_alias_maximum: ['topicAliasMaximum', 'num'],
  topic_alias: ['topicAlias', 'num'],
  maximum_qos: ['maximumQoS', 'num'],
  retain_available: ['retainAvailable', 'bool'],
  user_properties: ['userProperties', 'pairs'],
  maximum_packet_size: ['maximumPacketSize', 'num'],
  wildcard_subscription_available: ['wildcardSubscriptionAvailable', 'bool'],
  subscription_identifiers_available: ['subscriptionIdentifiersAvailable', 'bool'],
  shared_subscription_available: ['sharedSubscriptionAvailable', 'bool']
}

const hexBuf = (h) => Buffer.from(h || '', 'hex')

/** User Properties as mqtt-packet keeps them: an object keyed by name, a
 * repeated name holding an array of its values in order. */
function groupPairs (pairs) {
  const out = {}
  for (const [k, v] of pairs) {
    if (!Object.prototype.hasOwnProperty.call(out, k)) out[k] = v
    else if (Array.isArray(out[k])) out[k].push(v)
    else out[k] = [out[k], v]
  }
  return out
}

/** True if grouping by name changes the relative order of the pairs. */
function groupingReorders (pairs) {
  const seen = []
  for (const [k] of pairs) {
    if (seen.length && seen[seen.length - 1] === k) continue
    if (seen.includes(k)) return true
    seen.push(k)
  }
  return false
}

/** Our properties object in mqtt-packet's form, or undefined when empty. */
function peerProperties (props) {
  if (!props || Object.keys(props).length === 0) return undefined
  const out = {}
  for (const [k, v] of Object.entries(props)) {
    const map = PROPERTIES[k]
    if (!map) throw new Error(`unknown property key ${k}`)
    const [name, kind] = map
    switch (kind) {
      case 'bool': out[name] = v !== 0; break
      case 'hex': out[name] = hexBuf(v); break
      case 'ids': out[name] = v.length === 1 ? v[0] : v.slice(); break
      case 'pairs': out[name] = groupPairs(v); break
      default: out[name] = v
    }
  }
  return out
}

/** What mqtt-packet should make of a valid vector: the vector's JSON form
 * mapped to mqtt-packet's field names. */
function expectedPeerPacket (vec) {
  const p = vec.packet
  const v5 = vec.protocol === 5
  const out = { cmd: p.type }
  const props = peerProperties(p.properties)
  switch (p.type) {
    case 'connect':
      Object.assign(out, {
        protocolId: 'MQTT',
        protocolVersion: p.protocol_version,
        clean: p.clean_start,
        keepalive: p.keep_alive,
        clientId: p.client_identifier
      })
      if (p.will) {
        out.will = {
          topic: p.will.topic,
          payload: hexBuf(p.will.payload_hex),
          qos: p.will.qos,
          retain: p.will.retain
        }
        const wp = peerProperties(p.will.properties)
        if (wp) out.will.properties = wp
      }
      if (p.user_name !== undefined) out.username = p.user_name
      if (p.password_hex !== undefined) out.password = hexBuf(p.password_hex)
      break
    case 'connack':
      out.sessionPresent = p.session_present
      if (v5) out.reasonCode = p.reason_code
      else out.returnCode = p.reason_code
      break
    case 'publish':
      Object.assign(out, {
        topic: p.topic_name,
        payload: hexBuf(p.payload_hex),
        qos: p.qos,
        dup: p.dup,
        retain: p.retain
      })
      if (p.qos > 0) out.messageId = p.packet_identifier
      break
    case 'puback': case 'pubrec': case 'pubrel': case 'pubcomp':
      out.messageId = p.packet_identifier
      if (v5) out.reasonCode = p.reason_code
      break
    case 'subscribe':
      out.messageId = p.packet_identifier
      out.subscriptions = p.subscriptions.map((s) => v5
        ? { topic: s.topic_filter, qos: s.qos, nl: s.no_local, rap: s.retain_as_published, rh: s.retain_handling }
        : { topic: s.topic_filter, qos: s.qos })
      break
    case 'suback':
      out.messageId = p.packet_identifier
      out.granted = p.reason_codes
      break
    case 'unsubscribe':
      out.messageId = p.packet_identifier
      out.unsubscriptions = p.topic_filters
      break
    case 'unsuback':
      out.messageId = p.packet_identifier
      if (v5) out.granted = p.reason_codes || []
      break
    case 'pingreq': case 'pingresp':
      break
    case 'disconnect': case 'auth':
      if (v5) out.reasonCode = p.reason_code
      break
    default:
      throw new Error(`unknown packet type ${p.type}`)
  }
  out.properties = props
  return out
}

/** Fields of `actual` that differ from `expected`, as [path, expected, actual]. */
function compare (expected, actual, where, out) {
  if (Buffer.isBuffer(expected)) {
    if (!Buffer.isBuffer(actual) || !expected.equals(actual)) out.push([where, expected, actual])
    return
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) {
      out.push([where, expected, actual])
      return
    }
    expected.forEach((e, i) => compare(e, actual[i], `${where}[${i}]`, out))
    return
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object' || Buffer.isBuffer(actual)) {
      out.push([where, expected, actual])
      return
    }
    for (const k of Object.keys(expected)) compare(expected[k], actual[k], where ? `${where}.${k}` : k, out)
    // Properties must not hold anything we did not expect.
    if (/(^|\.)properties$|userProperties$/.test(where)) {
      for (const k of Object.keys(actual)) {
        if (!(k in expected)) out.push([`${where}.${k}`, undefined, actual[k]])
      }
    }
    return
  }
  if (expected !== actual) out.push([where, expected, actual])
}

/** Parses one packet's bytes; never throws. */
function peerParse (buf, protocolVersion) {
  const parser = mqtt.parser({ protocolVersion })
  const packets = []
  let error = null
  parser.on('packet', (p) => packets.push(p))
  parser.on('error', (e) => { if (!error) error = e })
  try {
    parser.parse(buf)
  } catch (e) {
    error = error || e
  }
  return { packets, error }
}

/** mqtt-packet's generate(); never throws. */
function peerGenerate (packet, protocolVersion) {
  try {
    return { bytes: mqtt.generate(packet, { protocolVersion }) }
  } catch (e) {
    return { error: e }
  }
}

const show = (x) => util.inspect(x, { depth: 4, breakLength: Infinity, maxStringLength: 80, maxArrayLength: 12 })

function loadVectors () {
  const files = fs.readdirSync(VECTORS_DIR).filter((f) => f.endsWith('.json')).sort()
  const all = []
  for (const f of files) {
    const doc = JSON.parse(fs.readFileSync(path.join(VECTORS_DIR, f), 'utf8'))
    for (const v of doc.vectors) all.push({ ...v, file: f })
  }
  return all
}

/** The known differences, each { kind, vectors: [name patterns], field?, reason }. */
function loadKnown () {
  const doc = JSON.parse(fs.readFileSync(KNOWN_FILE, 'utf8'))
  for (const d of doc.differences) {
    if (!d.kind || !Array.isArray(d.vectors) || !d.reason) {
      throw new Error(`known-differences.json: malformed entry ${JSON.stringify(d)}`)
    }
    d.used = new Set()
  }
  return doc.differences
}

function main () {
  const vectors = loadVectors()
  const known = loadKnown()
  const found = [] // { kind, vector, field?, detail }

  const record = (kind, vec, detail, field) => found.push({ kind, vector: vec.name, field, detail })
  let checked = 0
  let agreed = 0
  let peerAcceptedInvalid = 0
  let validCount = 0
  let invalidCount = 0

  for (const vec of vectors) {
    checked++
    const buf = hexBuf(vec.hex)
    const { packets, error } = peerParse(buf, vec.protocol)
    if (!vec.packet) {
      invalidCount++
      if (error) {
        agreed++
        if (verbose) console.log(`ok   ${vec.name}: mqtt-packet refuses it too (${error.message})`)
      } else {
        peerAcceptedInvalid++
        const what = packets.length ? `parsed it as ${show(packets[0])}` : 'waits for more bytes'
        record('accepts-invalid', vec, `mqtt-packet ${what}; expected reason code 0x${vec.error.reason_code.toString(16)} [${vec.error.statement}]`)
      }
      continue
    }

    validCount++
    let same = true
    if (error || packets.length !== 1) {
      record('rejects-valid', vec, error ? `mqtt-packet refuses it: ${error.message}` : `mqtt-packet made ${packets.length} packets of it`)
      continue
    }
    const parsed = packets[0]
    const expected = expectedPeerPacket(vec)
    const diffs = []
    compare(expected, parsed, '', diffs)
    for (const [field, e, a] of diffs) {
      same = false
      record('field', vec, `${field}: ours ${show(e)}, mqtt-packet ${show(a)}`, field)
    }
    const pairs = [vec.packet.properties, vec.packet.will && vec.packet.will.properties]
      .filter(Boolean).map((p) => p.user_properties || [])
    if (pairs.some(groupingReorders)) {
      same = false
      record('field', vec, 'User Properties with interleaved names: mqtt-packet keeps them in an object keyed by name, so their order across names is lost', 'properties.userProperties')
    }

    // Generate the parsed packet again.
    const gen = peerGenerate(parsed, vec.protocol)
    if (gen.error) {
      same = false
      record('regenerate', vec, `mqtt-packet's generate() refuses the packet it parsed: ${gen.error.message}`)
    } else if (vec.canonical !== false && !gen.bytes.equals(buf)) {
      same = false
      // Classify: the same packet in another wire form, or not?
      const again = peerParse(gen.bytes, vec.protocol)
      const d2 = []
      if (!again.error && again.packets.length === 1) {
        const { length: _a, ...x } = parsed
        const { length: _b, ...y } = again.packets[0]
        compare(x, y, '', d2)
      }
      let kind
      if (again.error || d2.length) kind = 'a different packet'
      else if (gen.bytes.length === buf.length) kind = 'the same packet with its properties in another order'
      else kind = `the same packet in a ${gen.bytes.length > buf.length ? 'longer' : 'shorter'} form (${gen.bytes.length} bytes, not ${buf.length})`
      record('regenerate', vec, `generate() writes ${kind}: ${gen.bytes.toString('hex').slice(0, 80)}`)
    }
    if (same) agreed++
  }

  // Match what was found against the list.
  // A pattern is a vector name in which '*' stands for any run of characters.
  const matches = (pattern, name) => new RegExp('^' + pattern.split('*')
    .map((x) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$').test(name)
  const unexpected = []
  const knownFound = []
  for (const f of found) {
    const entry = known.find((d) => d.kind === f.kind &&
      (d.field === undefined || d.field === f.field) &&
      d.vectors.some((p) => matches(p, f.vector)))
    if (entry) {
      for (const p of entry.vectors) if (matches(p, f.vector)) entry.used.add(p)
      knownFound.push([f, entry])
    } else {
      unexpected.push(f)
    }
  }
  const stale = []
  for (const d of known) {
    for (const p of d.vectors) if (!d.used.has(p)) stale.push(`${d.kind}${d.field ? ` (${d.field})` : ''}: ${p}`)
  }

  if (verbose) {
    for (const [f, entry] of knownFound) {
      console.log(`known ${f.kind} ${f.vector}: ${f.detail}\n      (${entry.reason})`)
    }
  }
  const byKind = {}
  for (const [f] of knownFound) byKind[f.kind] = (byKind[f.kind] || 0) + 1
  for (const f of unexpected) {
    console.log(`FAIL ${f.kind} ${f.vector}${f.field ? ` [${f.field}]` : ''}: ${f.detail}`)
  }
  for (const s of stale) console.log(`FAIL known-differences.json lists a difference that no longer occurs: ${s}`)

  const kinds = Object.entries(byKind).map(([k, n]) => `${k} ${n}`).join(', ')
  console.log(`vectors checked: ${checked} (${validCount} valid, ${invalidCount} invalid); ` +
    `agreed: ${agreed}; known differences: ${knownFound.length}${kinds ? ` (${kinds})` : ''}; ` +
    `peer-accepted invalid inputs: ${peerAcceptedInvalid}; unexpected differences: ${unexpected.length}`)
  if (unexpected.length || stale.length) process.exit(1)
}

main()
