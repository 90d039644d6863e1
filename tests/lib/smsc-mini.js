// tests/lib/smsc-mini.js: a minimal SMSC on the npm `smpp` package (the real SMPP stack a
// test can drive) for 02-smpp-conn.sh: accepts bind_transceiver for gw/secret (else
// ESME_RINVPASWD), records every submit_sm as a JSON line, answers the first THROTTLE of
// them ESME_RTHROTTLED, and after the first bind sends one deliver_sm (MO) and records its
// deliver_sm_resp. Usage: node smsc-mini.js PORTFILE RECORD [THROTTLE]
'use strict';
const path = require('path');
const fs = require('fs');
const smpp = require(require.resolve('smpp', { paths: [path.join(__dirname, '../../contrib/node')] }));
const [portFile, record, throttleArg] = process.argv.slice(2);
let throttle = Number(throttleArg || 0), ids = 0;
const rec = (o) => fs.appendFileSync(record, JSON.stringify(o) + '\n');
const server = smpp.createServer((session) => {
	session.on('bind_transceiver', (pdu) => {
		if (pdu.system_id !== 'gw' || pdu.password !== 'secret') {
			rec({ cmd: 'bind', ok: false });
			session.send(pdu.response({ command_status: smpp.ESME_RINVPASWD }));
			return;
		}
		rec({ cmd: 'bind', ok: true });
		session.send(pdu.response());
		session.deliver_sm({ source_addr: '491701234567', destination_addr: '12345',
			data_coding: 4, short_message: Buffer.from('mo-1') }, (r) => {
			rec({ cmd: 'deliver_sm_resp', status: r.command_status });
		});
	});
	session.on('enquire_link', (pdu) => session.send(pdu.response()));
	session.on('unbind', (pdu) => { rec({ cmd: 'unbind' }); session.send(pdu.response()); session.close(); });
	session.on('submit_sm', (pdu) => {
		if (throttle > 0) {
			throttle--;
			rec({ cmd: 'submit_sm', throttled: true });
			session.send(pdu.response({ command_status: smpp.ESME_RTHROTTLED }));
			return;
		}
		const id = 'm' + (++ids);
		rec({ cmd: 'submit_sm', id, dest: pdu.destination_addr, dcs: pdu.data_coding,
		      registered_delivery: pdu.registered_delivery,
		      text: Buffer.from(pdu.short_message.message || pdu.short_message).toString() });
		session.send(pdu.response({ message_id: id }));
	});
	session.on('error', () => {});
});
server.listen(0, '127.0.0.1', () => fs.writeFileSync(portFile, String(server.address().port)));
