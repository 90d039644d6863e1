#!/usr/bin/env node
// bench/sms-esme.js: the peer of bench/sms-bench.sh, an ESME on the npm smpp package (the same
// stack as the SMSC simulator) measured against the same simulator as the gateway.
//   node sms-esme.js mt PORT N W   bind_transceiver, N submit_sm with at most W awaiting their
//                                  submit_sm_resp; prints "esme: mt N in MS ms"
//   node sms-esme.js mo PORT       bind_transceiver, answer every deliver_sm ESME_ROK at once;
//                                  prints "esme: bound", runs until killed
'use strict';
const path = require('path');
const smpp = require(require.resolve('smpp', { paths: [path.join(__dirname, '../contrib/node')] }));
const [mode, port, nArg, wArg] = process.argv.slice(2);
const s = smpp.connect({ host: '127.0.0.1', port: Number(port) });
s.on('error', (e) => { console.error('esme: ' + e.message); process.exit(2); });
s.on('deliver_sm', (pdu) => s.send(pdu.response()));
s.on('connect', () => s.bind_transceiver({ system_id: 'gw', password: 'secret' }, (r) => {
	if (r.command_status) { console.error('esme: bind refused ' + r.command_status); process.exit(2); }
	if (mode === 'mo') return console.log('esme: bound');
	const n = Number(nArg), w = Number(wArg);
	let sent = 0, done = 0, bad = 0;
	const t0 = Date.now();
	const next = () => {
		if (sent >= n) return;
		sent++;
		s.submit_sm({ source_addr: '12345', destination_addr: '491701234567', registered_delivery: 0,
			short_message: Buffer.from('bench message ' + sent) }, (resp) => {
			if (resp.command_status) bad++;
			if (++done === n) {
				console.log(`esme: mt ${n} in ${Date.now() - t0} ms (${bad} refused)`);
				s.unbind(() => process.exit(0));
			} else next();
		});
	};
	for (let i = 0; i < Math.min(w, n); i++) next();
}));
