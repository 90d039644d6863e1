#!/usr/bin/env node
// contrib/smsc-sim/smsc-sim.js: an SMSC simulator (SMPP 3.4 server) for the tests of the SMS
// adapter, on the npm `smpp` package (contrib/node, `npm ci` there).
//
// Usage: node smsc-sim.js --record FILE.jsonl [--listen 127.0.0.1:0] [--port-file F]
//        [--control 127.0.0.1:0] [--control-port-file F2] [--system-id gw] [--password secret]
//        [--resp-timeout MS (5000)] [--tls-cert PEM --tls-key PEM [--keylog FILE]]
//
// With --tls-cert/--tls-key the SMPP side is SMPP over TLS (TLS 1.2 or 1.3); --keylog appends
// its TLS secrets in NSS key log format (to check a client's lab key log against).
//
// SMPP side: bind_transceiver / bind_transmitter / bind_receiver with the configured
// system_id and password (else ESME_RINVSYSID 0x0F / ESME_RINVPASWD 0x0E; a second bind on a
// bound session ESME_RALYBND 0x05; other requests before a bind ESME_RINVBNDSTS 0x04);
// enquire_link, unbind (answered, then the connection is closed); submit_sm answered with
// message_id "m1", "m2", ... (or the error of the current mode; a submit_sm cut short before
// its short_message: generic_nack ESME_RINVCMDLEN); anything else generic_nack ESME_RINVCMDID.
// Every PDU received is appended to --record as one JSON line {time, session, command,
// command_status, sequence_number, <fields>}: every mandatory field and TLV of the PDU by
// the package's name (dest_port is written destination_port), octet strings as <name>_hex
// (short_message_hex, message_payload_hex, ...), unknown TLVs as tlv_0xTTTT_hex; submit_sm and
// bind lines also carry what was answered (status, message_id). Connections add
// {"event":"connect"|"close"} lines. The line is written before the answer is sent.
//
// Control side: plain TCP, one JSON command per line, one JSON answer line each, in order:
//   {"cmd":"deliver","source_addr":"491701234567","destination_addr":"12345","data_coding":0,
//    "esm_class":0,"short_message_hex":"...","tlvs":{"sar_msg_ref_num":7,...},"session":N}
//     -> deliver_sm to the last bound transceiver/receiver (or session N); any deliver_sm
//        field may be given; octet-string TLVs (message_payload, ...) as hex.
//     <- {"ok":true,"status":<deliver_sm_resp command_status>,"session":N,"sequence_number":S}
//        or {"ok":false,"error":"..."} (no bound receiver, or no resp within --resp-timeout)
//   {"cmd":"receipt","message_id":"m3","stat":"DELIVRD","err":"000","no_tlvs":false}
//     -> delivery receipt: deliver_sm esm_class 0x04 from the submit_sm's destination to its
//        source, TLVs receipted_message_id + message_state (unless no_tlvs), short_message
//        "id:m3 sub:001 dlvrd:001 submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DELIVRD
//        err:000 text:<first 20 chars>"; answered like deliver
//   {"cmd":"mode","submit":"ok"|"throttle"|"qfull","count":N}
//     -> following submit_sm answered ok / ESME_RTHROTTLED 0x58 / ESME_RMSGQFUL 0x14 (with
//        count: only the next N, then ok again)            <- {"ok":true}
//   {"cmd":"deliver_bulk","count":N,"window":W, <deliver fields as for deliver>}
//     -> N deliver_sm of those fields to the last bound receiver, at most W awaiting their
//        deliver_sm_resp (for benchmarks; each is recorded like any other PDU)
//     <- {"ok":true,"sent":N,"resp_ok":K,"resp_error":E,"failed":F,"ms":ELAPSED}
//   {"cmd":"drop"}   -> closes every ESME connection          <- {"ok":true,"closed":N}
//   {"cmd":"stats"}  <- {"ok":true,"sessions":N,"bound":N,"received":{command:count},
//                        "submit_ok":N,"submit_rejected":N,"delivered":N,"receipts":N,"mode":M}
'use strict';
const fs = require('fs');
const net = require('net');
const path = require('path');
const smpp = require(require.resolve('smpp', { paths: [path.join(__dirname, '../node')] }));

const opt = { listen: '127.0.0.1:0', control: '127.0.0.1:0', 'system-id': 'gw', password: 'secret',
	'resp-timeout': '5000' };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
	const k = argv[i].replace(/^--/, '');
	if (!argv[i].startsWith('--') || !(k in opt || /^(port-file|control-port-file|record|tls-cert|tls-key|keylog)$/.test(k)) ||
	    argv[i + 1] === undefined) {
		console.error(`smsc-sim: bad argument ${argv[i]}`);
		process.exit(1);
	}
	opt[k] = argv[i + 1];
}
if (!opt.record) { console.error('smsc-sim: --record FILE is required'); process.exit(1); }
const hostPort = (s) => { const i = s.lastIndexOf(':'); return [s.slice(0, i) || '127.0.0.1', Number(s.slice(i + 1))]; };
const respTimeout = Number(opt['resp-timeout']);

// Raw octets everywhere: the package's filters decode short_message as GSM/Latin-1/UCS-2 text
// (lossy, and by its own reading of data_coding) and times as Date objects; the simulator
// records and sends exactly the bytes on the wire instead.
for (const c of Object.values(smpp.commands)) for (const p of Object.values(c.params || {})) delete p.filter;
for (const t of Object.values(smpp.tlvs)) delete t.filter;

const rec = (o) => fs.appendFileSync(opt.record, JSON.stringify({ time: new Date().toISOString(), ...o }) + '\n');
const isBuf = (t) => t === smpp.types.buffer || t === smpp.types.tlv.buffer;

// the fields of a received PDU for the record
function fields(pdu) {
	const o = {};
	for (const [k, v] of Object.entries(pdu)) {
		if (['command_length', 'command_id', 'command', 'command_status', 'sequence_number'].includes(k)) continue;
		const name = /^\d+$/.test(k) ? 'tlv_0x' + Number(k).toString(16).padStart(4, '0') :
			k === 'dest_port' ? 'destination_port' : k;
		o[Buffer.isBuffer(v) ? name + '_hex' : name] = Buffer.isBuffer(v) ? v.toString('hex') : v;
	}
	if (pdu.command === 'unknown') o.command_id = '0x' + pdu.command_id.toString(16).padStart(8, '0');
	return o;
}

const stats = { received: {}, submit_ok: 0, submit_rejected: 0, delivered: 0, receipts: 0 };
let mode = { submit: 'ok', count: Infinity };
const submitStatus = { ok: 0, throttle: smpp.ESME_RTHROTTLED, qfull: smpp.ESME_RMSGQFUL };
const submits = new Map(); // message_id -> { source_addr, destination_addr, time, text }
let nextSession = 0, nextMsg = 0;
const sessions = new Set();

if (!opt['tls-cert'] !== !opt['tls-key']) { console.error('smsc-sim: --tls-cert and --tls-key go together'); process.exit(1); }
const serverOptions = opt['tls-cert'] ? { key: fs.readFileSync(opt['tls-key']), cert: fs.readFileSync(opt['tls-cert']),
	minVersion: 'TLSv1.2' } : {};
const server = smpp.createServer(serverOptions, (session) => {
	session.id = ++nextSession;
	session.bound = null; // 'transceiver' | 'transmitter' | 'receiver' once bound
	sessions.add(session);
	rec({ session: session.id, event: 'connect', peer: `${session.socket.remoteAddress}:${session.socket.remotePort}` });
	session.socket.on('close', () => { sessions.delete(session); rec({ session: session.id, event: 'close' }); });
	// a PDU the package cannot parse leaves the session stuck: close it
	session.on('error', (e) => { rec({ session: session.id, event: 'error', error: String(e.message || e) }); session.destroy(); });
	session.on('pdu', (pdu) => {
		stats.received[pdu.command] = (stats.received[pdu.command] || 0) + 1;
		const line = { session: session.id, command: pdu.command, command_status: pdu.command_status,
			sequence_number: pdu.sequence_number, ...fields(pdu) };
		if (pdu.isResponse()) return rec(line); // deliver_sm_resp etc: the callbacks of send() see them
		const answer = (options, extra) => { rec({ ...line, ...extra }); session.send(pdu.response(options)); };
		const nack = (status) => {
			rec({ ...line, status });
			session.send(new smpp.PDU('generic_nack', { sequence_number: pdu.sequence_number, command_status: status }));
		};
		const bind = /^bind_(transceiver|transmitter|receiver)$/.exec(pdu.command);
		if (bind) {
			const status = session.bound ? smpp.ESME_RALYBND : pdu.system_id !== opt['system-id'] ? smpp.ESME_RINVSYSID :
				pdu.password !== opt.password ? smpp.ESME_RINVPASWD : 0;
			if (!status) {
				session.bound = bind[1];
				sessions.delete(session); // re-insert: the Set's last receiver is the last bound
				sessions.add(session);
			}
			answer({ command_status: status, system_id: 'smsc-sim' }, { status });
		} else if (pdu.command === 'enquire_link') {
			answer();
		} else if (pdu.command === 'unbind') {
			session.bound = null;
			rec(line);
			session.send(pdu.response(), () => session.close());
		} else if (pdu.command !== 'submit_sm') { // also 'unknown': a command_id the package does not know
			nack(smpp.ESME_RINVCMDID);
		} else if (!('short_message' in pdu)) { // the PDU ends before its mandatory fields do
			nack(smpp.ESME_RINVCMDLEN);
		} else if (!session.bound || session.bound === 'receiver') {
			answer({ command_status: smpp.ESME_RINVBNDSTS }, { status: smpp.ESME_RINVBNDSTS });
		} else { // submit_sm
			const status = submitStatus[mode.submit];
			if (status && --mode.count <= 0) mode = { submit: 'ok', count: Infinity };
			if (status) {
				stats.submit_rejected++;
				return answer({ command_status: status }, { status });
			}
			stats.submit_ok++;
			const message_id = 'm' + (++nextMsg);
			const text = pdu.short_message.length ? pdu.short_message : pdu.message_payload || Buffer.alloc(0);
			submits.set(message_id, { source_addr: pdu.source_addr, destination_addr: pdu.destination_addr,
				time: new Date(), text: text.subarray(0, 20).toString('latin1').replace(/[^\x20-\x7e]/g, '.') });
			answer({ message_id }, { status: 0, message_id });
		}
	});
});

// send a deliver_sm built from options to a session; resolves to the control answer
function deliver(options, sessionId) {
	const bound = [...sessions].filter((s) => s.bound === 'transceiver' || s.bound === 'receiver');
	const s = sessionId ? bound.find((x) => x.id === sessionId) : bound[bound.length - 1];
	if (!s) return Promise.resolve({ ok: false, error: 'no bound receiver' + (sessionId ? ' with session ' + sessionId : '') });
	return new Promise((resolve) => {
		const pdu = new smpp.PDU('deliver_sm', options);
		const done = (r) => {
			clearTimeout(timer);
			s.socket.removeListener('close', closed);
			delete s._callbacks[pdu.sequence_number];
			resolve(r);
		};
		const closed = () => done({ ok: false, error: 'connection closed' });
		const timer = setTimeout(() => done({ ok: false, error: `no deliver_sm_resp within ${respTimeout} ms` }), respTimeout);
		s.socket.setMaxListeners(0);
		s.socket.once('close', closed);
		if (!s.send(pdu, (r) => done({ ok: true, status: r.command_status, session: s.id, sequence_number: pdu.sequence_number })))
			done({ ok: false, error: 'connection not writable' });
	});
}

// deliver_sm options from a control command: its deliver_sm fields, short_message_hex, tlvs
function deliverOptions(c) {
	const o = { source_addr: '', destination_addr: '', esm_class: 0, data_coding: 0 };
	for (const k of Object.keys(smpp.commands.deliver_sm.params)) if (k in c) o[k] = c[k];
	o.short_message = Buffer.from(c.short_message_hex || '', 'hex');
	for (let [k, v] of Object.entries(c.tlvs || {})) {
		if (k === 'destination_port') k = 'dest_port';
		if (!smpp.tlvs[k]) throw new Error('unknown TLV ' + k);
		o[k] = isBuf(smpp.tlvs[k].type) ? Buffer.from(String(v), 'hex') : v;
	}
	return o;
}

const STATES = { ENROUTE: 1, DELIVRD: 2, EXPIRED: 3, DELETED: 4, UNDELIV: 5, ACCEPTD: 6, UNKNOWN: 7, REJECTD: 8 };
const yymmddhhmm = (d) => d.toISOString().replace(/^..(..)-(..)-(..)T(..):(..).*/, '$1$2$3$4$5');

async function control(c) {
	switch (c.cmd) {
	case 'deliver': {
		const r = await deliver(deliverOptions(c), c.session);
		if (r.ok) stats.delivered++;
		return r;
	}
	case 'deliver_bulk': {
		const n = Number(c.count) || 0, w = Math.max(1, Number(c.window) || 1), t0 = Date.now();
		const r = { ok: true, sent: 0, resp_ok: 0, resp_error: 0, failed: 0 };
		const one = async () => {
			while (r.sent < n) {
				r.sent++;
				const a = await deliver(deliverOptions(c), c.session);
				if (!a.ok) r.failed++; else if (a.status === 0) r.resp_ok++; else r.resp_error++;
			}
		};
		await Promise.all(Array.from({ length: Math.min(w, n) }, one));
		stats.delivered += r.resp_ok;
		return { ...r, ms: Date.now() - t0 };
	}
	case 'receipt': {
		const sub = submits.get(c.message_id);
		if (!sub) return { ok: false, error: 'unknown message_id ' + c.message_id };
		const stat = c.stat || 'DELIVRD', err = c.err || '000';
		const text = `id:${c.message_id} sub:001 dlvrd:${stat === 'DELIVRD' ? '001' : '000'} ` +
			`submit date:${yymmddhhmm(sub.time)} done date:${yymmddhhmm(new Date())} stat:${stat} err:${err} text:${sub.text}`;
		const o = deliverOptions({ source_addr: sub.destination_addr, destination_addr: sub.source_addr, ...c,
			esm_class: 0x04, short_message_hex: Buffer.from(text, 'latin1').toString('hex') });
		if (!c.no_tlvs) Object.assign(o, { receipted_message_id: c.message_id, message_state: STATES[stat] || 7 });
		const r = await deliver(o, c.session);
		if (r.ok) stats.receipts++;
		return { ...r, text };
	}
	case 'mode':
		if (!(c.submit in submitStatus)) return { ok: false, error: 'submit must be ok, throttle or qfull' };
		mode = { submit: c.submit, count: c.count > 0 ? c.count : Infinity };
		return { ok: true };
	case 'drop': {
		const n = sessions.size;
		for (const s of sessions) s.destroy();
		return { ok: true, closed: n };
	}
	case 'stats':
		return { ok: true, sessions: sessions.size, bound: [...sessions].filter((s) => s.bound).length, ...stats,
			mode: mode.submit };
	default:
		return { ok: false, error: 'unknown cmd ' + c.cmd };
	}
}

const controlServer = net.createServer((sock) => {
	let buf = '', chain = Promise.resolve();
	sock.setEncoding('utf8');
	sock.on('error', () => {});
	sock.on('data', (d) => {
		buf += d;
		let i;
		while ((i = buf.indexOf('\n')) >= 0) {
			const line = buf.slice(0, i).trim();
			buf = buf.slice(i + 1);
			if (!line) continue;
			chain = chain.then(async () => {
				let r;
				try { r = await control(JSON.parse(line)); } catch (e) { r = { ok: false, error: String(e.message || e) }; }
				if (!sock.destroyed) sock.write(JSON.stringify(r) + '\n');
			});
		}
	});
});

const writePort = (file, port) => { if (file) { fs.writeFileSync(file + '.tmp', port + '\n'); fs.renameSync(file + '.tmp', file); } };
const [smppHost, smppPort] = hostPort(opt.listen), [ctlHost, ctlPort] = hostPort(opt.control);
server.on('error', (e) => { console.error('smsc-sim: ' + e.message); process.exit(1); });
if (opt.keylog && opt['tls-cert']) server.on('keylog', (line) => fs.appendFileSync(opt.keylog, line));
controlServer.on('error', (e) => { console.error('smsc-sim: control: ' + e.message); process.exit(1); });
server.listen(smppPort, smppHost, () => controlServer.listen(ctlPort, ctlHost, () => {
	const p = server.address().port, cp = controlServer.address().port;
	console.log(`smsc-sim: SMPP${opt['tls-cert'] ? ' over TLS' : ''} on ${smppHost}:${p}, control on ${ctlHost}:${cp}, system_id ${opt['system-id']}`);
	writePort(opt['control-port-file'], cp);
	writePort(opt['port-file'], p); // last: a test waiting for it finds both
}));
const stop = () => { for (const s of sessions) s.destroy(); process.exit(0); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
