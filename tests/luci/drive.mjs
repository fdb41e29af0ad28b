// Drives headless Debian chromium (through playwright-core, no browser download) through the
// sipwall LuCI views served by tests/luci/harness.py, the way an admin would use them: fill the
// settings form and save, type a wrong value and see it refused, watch the status page and press
// Unban. Prints one "ok"/"FAIL" line per check and a screenshot per view under OUT.
//
// Usage: node drive.mjs BASE_URL OUT_DIR SCENARIO   (SCENARIO: settings | settings-invalid | status)
// Exit code: number of failed checks (0 = all passed).

import { chromium } from 'playwright-core';

const [base, out, scenario] = process.argv.slice(2);
let failed = 0;
const check = (ok, what) => {
	console.log(`${ok ? 'ok  ' : 'FAIL'} luci ${scenario}: ${what}`);
	if (!ok) failed++;
};

const browser = await chromium.launch({
	executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
	args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
		'--disable-component-update', '--disable-sync'],
});
const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
const consoleErrors = [];
page.on('pageerror', (e) => consoleErrors.push(String(e)));
page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });

async function open(view) {
	await page.goto(`${base}/?view=${view}`);
	await page.waitForFunction(() => window.__ready !== undefined, null, { timeout: 20000 });
	const ready = await page.evaluate(() => window.__ready);
	check(ready === true, `view ${view} loads and renders (${ready})`);
	return ready === true;
}

const sel = (id) => `[id="${id}"]`;
async function save() {
	await page.click('#save');
	await page.waitForFunction(() => window.__saved !== null && window.__saved !== undefined, null, { timeout: 20000 });
	return page.evaluate(() => window.__saved);
}
async function addSection(type, name) {
	if (name) await page.fill(sel(`create.${type}`), name);
	await page.click(sel(`add.${type}`));
}
// The id of the last section of TYPE on the page.
async function lastSection(type) {
	return page.evaluate((t) => {
		const n = document.querySelectorAll(`#cbi-sipwall-${t} .cbi-section-node`);
		return n.length ? n[n.length - 1].dataset.section : null;
	}, type);
}
async function firstSection(type) {
	return page.evaluate((t) => {
		const n = document.querySelector(`#cbi-sipwall-${t} .cbi-section-node`);
		return n ? n.dataset.section : null;
	}, type);
}
async function notifications(kind) {
	return page.evaluate((k) => Array.from(document.querySelectorAll(`#notifications .alert-message${k ? '.' + k : ''}`))
		.map((n) => n.textContent), kind);
}

try {
	if (scenario === 'settings') {
		if (await open('sipwall/settings')) {
			// Every section type of the daemon's schema has a place on the page.
			const schema = await page.evaluate(() => fetch('/ubus/file/exec', { method: 'POST', body: JSON.stringify({ command: '/usr/sbin/sipwall', params: ['check-config', '--schema'] }) }).then((r) => r.json()));
			const types = JSON.parse(schema.stdout).sections.map((s) => s.type);
			for (const t of types) check(await page.$(`#cbi-sipwall-${t}`) !== null, `section type '${t}' from the schema has a form section`);
			const disagree = await notifications('danger');
			check(disagree.length === 0, `page and daemon agree on every option (${disagree.join(' | ') || 'no mismatch'})`);
			const noschema = await notifications('warning');
			check(noschema.length === 0, `schema was read through the ACL'd exec (${noschema.join(' | ') || 'yes'})`);

			// An admin sets sipwall up.
			await addSection('domain');
			let sid = await lastSection('domain');
			await page.fill(sel(`cbid.sipwall.${sid}.host`), 'pbx-7f3k.example.org');
			await addSection('knock', 'phones');
			await page.fill(sel('cbid.sipwall.phones.secret'), 'Zebra-42-Lantern');
			await page.check(sel('cbid.sipwall.phones.look_in.display_name'));
			await page.check(sel('cbid.sipwall.phones.look_in.user_agent'));
			await page.fill(sel('cbid.sipwall.phones.door_time'), '2h');
			await addSection('allow');
			sid = await lastSection('allow');
			await page.fill(sel(`cbid.sipwall.${sid}.source`), '198.51.100.0/24');
			await addSection('allow');
			sid = await lastSection('allow');
			await page.fill(sel(`cbid.sipwall.${sid}.source`), 'office.dyndns.example.net');
			await addSection('block');
			sid = await lastSection('block');
			await page.fill(sel(`cbid.sipwall.${sid}.source`), '203.0.113.0/24');
			await addSection('ban_tier');
			sid = await lastSection('ban_tier');
			await page.fill(sel(`cbid.sipwall.${sid}.failures`), '40');
			await page.fill(sel(`cbid.sipwall.${sid}.window`), '7d');
			await page.fill(sel(`cbid.sipwall.${sid}.ban_time`), 'forever');
			for (const t of ['scanners', 'ratelimit', 'geo', 'limits']) {
				if (!(await firstSection(t))) await addSection(t);
			}
			sid = await firstSection('scanners');
			await page.fill(`${sel(`cbid.sipwall.${sid}.signature`)} input:last-child`, 'evil-dialer');
			await page.fill(sel(`cbid.sipwall.${sid}.ban_time`), '2d');
			sid = await firstSection('ratelimit');
			await page.fill(sel(`cbid.sipwall.${sid}.rate`), '30');
			await page.fill(sel(`cbid.sipwall.${sid}.flood_ban_time`), '15m');
			sid = await firstSection('geo');
			await page.check(sel(`cbid.sipwall.${sid}.enabled`));
			await page.selectOption(sel(`cbid.sipwall.${sid}.mode`), 'block');
			await page.fill(`${sel(`cbid.sipwall.${sid}.country`)} input:last-child`, 'cn');
			sid = await firstSection('limits');
			await page.fill(sel(`cbid.sipwall.${sid}.bans`), '32768');
			sid = await firstSection('sipwall');
			await page.fill(`${sel(`cbid.sipwall.${sid}.udp_port`)} input:last-child`, '5080');
			await page.check(sel(`cbid.sipwall.${sid}.enabled`));
			const r = await save();
			check(r === 'ok', `Save succeeds (${r})`);
			await page.screenshot({ path: `${out}/luci-settings.png`, fullPage: true });
		}
	} else if (scenario === 'settings-invalid') {
		if (await open('sipwall/settings')) {
			const before = await (await fetch(`${base}/harness/config`)).text();
			// Sections first (adding one re-renders the form), then the wrong values.
			await addSection('knock', 'weak');
			await addSection('block');
			await addSection('ban_tier');
			const g = await firstSection('sipwall');
			await page.fill(`${sel(`cbid.sipwall.${g}.udp_port`)} input:last-child`, '70000');
			await page.fill(sel('cbid.sipwall.weak.secret'), 'has space"');
			const b = await lastSection('block');
			await page.fill(sel(`cbid.sipwall.${b}.source`), '203.0.113.300');
			const t = await lastSection('ban_tier');
			await page.fill(sel(`cbid.sipwall.${t}.failures`), '3');
			await page.fill(sel(`cbid.sipwall.${t}.window`), '10m');
			await page.fill(sel(`cbid.sipwall.${t}.ban_time`), '1h');
			const r = await save();
			check(r && r.startsWith('error'), `Save is refused in the browser (${r})`);
			const errs = await page.evaluate(() => Array.from(document.querySelectorAll('#save-errors li')).map((l) => l.textContent));
			check(errs.some((e) => e.includes('70000')), `port 70000 is named in the errors`);
			check(errs.some((e) => e.includes('phone can send')), `a secret with a space and a quote is refused`);
			check(errs.some((e) => e.includes('203.0.113.300')), `a bad address is refused`);
			check(errs.some((e) => e.includes('mildest to the strictest')), `a milder ban tier after a stricter one is refused`);
			const invalid = await page.$$eval('.cbi-input-invalid', (n) => n.length);
			check(invalid >= 4, `the wrong fields are marked (${invalid})`);
			const after = await (await fetch(`${base}/harness/config`)).text();
			check(before === after, 'nothing was written to /etc/config/sipwall');
			await page.screenshot({ path: `${out}/luci-settings-invalid.png`, fullPage: true });
		}
	} else if (scenario === 'contract') {
		// For every option of the daemon's schema and a set of right and wrong values, the browser
		// (the view's datatype + validate) and the daemon (sipwall check-config) must agree.
		if (await open('sipwall/settings')) {
			const schema = JSON.parse((await page.evaluate(() => fetch('/ubus/file/exec', { method: 'POST', body: JSON.stringify({ command: '/usr/sbin/sipwall', params: ['check-config', '--schema'] }) }).then((r) => r.json()))).stdout);
			const fmt = (n) => n % 86400 === 0 ? `${n / 86400}d` : n % 3600 === 0 ? `${n / 3600}h` : n % 60 === 0 ? `${n / 60}m` : `${n}`;
			const samples = (o) => {
				switch (o.type) {
				case 'bool': return ['0', '1'];
				case 'choice': return o.values;
				case 'uinteger': return [String(o.min), String(o.max), String(o.max + 1), o.min > 0 ? String(o.min - 1) : '-1', 'abc', '1.5', ''];
				case 'port': return ['5070', '1', '65535', '0', '65536', 'sip'];
				case 'duration': return [fmt(o.min), fmt(o.max), String(o.min), String(o.max + 1), String(o.min - 1), 'forever', '1w', '10x', 'h'];
				case 'hostname': return ['sip.example.org', 'pbx-1.example.org', 'pbx', '198.51.100.1', '-bad.example.org', 'has space.example', 'a_b.example.org'];
				case 'cidr': return ['198.51.100.0/24', '198.51.100.7', '2001:db8::/32', '2001:db8::1', '198.51.100.0/33', '300.1.1.1', 'host.example.org'];
				case 'cidr_or_hostname': return ['198.51.100.0/24', '2001:db8::1', 'office.example.net', '300.1.1.1', '198.51.100.0/40', 'bad host'];
				case 'country': return ['cn', 'US', 'c', 'chn', '12'];
				case 'cron': return ['17 4 * * *', '@random 4 * * *', '*/15 * * * *', '0 4 * * mon-fri', '60 4 * * *', '1 2 3 4', '0 24 * * *', '0 4 * jan-dec/2 *'];
				case 'url': return ['https://mirror.example.org/{cc}.zone', 'http://198.51.100.5/z/{cc}', 'ftp://mirror.example.org/{cc}', 'https://mirror.example.org/all.zone'];
				case 'path': return ['/etc/sipwall/state', '/tmp/x', 'relative/dir', '/etc/../tmp'];
				case 'secret': return ['Zebra-42-Lantern', 'k9#Fv!2q', 'aaaaaa', 'abcdefg', 'password1', 'has space', 'quote"x12', 'short'];
				case 'signature': return ['evil-dialer', 'SIPVicious', 'ab', 'x'.repeat(65)];
				default: return [];
				}
			};
			// Cross-section rules are checked too: a config that would be refused for another
			// reason gets what it needs (a domain for enabled, a country for geo).
			const need = { sipwall: {}, geo: { country: 'cn' }, ratelimit: { burst: '100000' }, domain: { host: 'sip.example.org' }, knock: { secret: 'Zebra-42-Lantern' }, allow: { source: '198.51.100.1' },
				block: { source: '203.0.113.0/24' }, ban_tier: { failures: '2', window: '1h', ban_time: '1h' } };
			const q = (v) => `'${String(v).replace(/'/g, "'\\''")}'`;
			// The page gets the same context: a domain, and a country for the geo section.
			if (!(await firstSection('geo'))) await addSection('geo');
			await addSection('domain');
			await page.fill(sel(`cbid.sipwall.${await lastSection('domain')}.host`), 'sip.example.org');
			await page.fill(`${sel(`cbid.sipwall.${await firstSection('geo')}.country`)} input:last-child`, 'cn');
			let compared = 0;
			const disagree = [];
			for (const sec of schema.sections) {
				for (const o of sec.options) {
					for (const v of samples(o)) {
						if (v === '' ) continue;
						const browser = await page.evaluate(([t, n, val]) => {
							const m = window.__maps[0];
							const s = m.children.find((x) => x.sectiontype === t);
							const opt = s && s.children.find((x) => x.option === n);
							if (!opt) return 'missing';
							const sids = s.cfgsections();
							return opt.check(sids.length ? sids[0] : 'contract', val) === true;
						}, [sec.type, o.name, v]);
						const opts = Object.assign({}, need[sec.type] || {});
						opts[o.name] = v;
						const lines = sec.type === 'sipwall' ? [] : ["config sipwall 'global'", "\toption enabled '0'", ''];
						const extra = sec.type === 'domain' ? [] : ['', 'config domain', "\toption host 'sip.example.org'"];
						lines.push(sec.type === 'sipwall' ? "config sipwall 'global'" : (sec.type === 'knock' ? "config knock 'k'" : `config ${sec.type}`));
						for (const [k, val] of Object.entries(opts)) {
							const isList = sec.options.find((x) => x.name === k).list;
							lines.push(`\t${isList ? 'list' : 'option'} ${k} ${q(val)}`);
						}
						const daemon = await (await fetch(`${base}/harness/check`, { method: 'POST', body: JSON.stringify({ config: lines.concat(extra).join('\n') + '\n' }) })).json();
						compared++;
						if (browser === 'missing') disagree.push(`${sec.type}.${o.name}: not on the page`);
						else if (browser !== (daemon.code === 0))
							disagree.push(`${sec.type}.${o.name}='${v}': browser ${browser ? 'accepts' : 'refuses'}, daemon ${daemon.code === 0 ? 'accepts' : 'refuses (' + daemon.stderr.split('\n')[0] + ')'}`);
					}
				}
			}
			for (const d of disagree) console.log(`     disagreement: ${d}`);
			check(compared > 150 && disagree.length === 0, `browser and daemon agree on ${compared - disagree.length} of ${compared} option values`);
		}
	} else if (scenario === 'status') {
		if (await open('sipwall/status')) {
			const want = JSON.parse(process.env.SIPWALL_EXPECT || '{}');
			const bans = await page.$$eval('#sipwall-bans tr:not(.table-titles):not(.placeholder)', (rows) => rows.map((r) => r.textContent));
			for (const ip of want.bans || []) check(bans.some((t) => t.includes(ip)), `ban of ${ip} is listed (${bans.length} rows)`);
			const doors = await page.$$eval('#sipwall-doors tr:not(.table-titles):not(.placeholder)', (rows) => rows.map((r) => r.textContent));
			for (const ip of want.doors || []) check(doors.some((t) => t.includes(ip)), `door of ${ip} is listed (${doors.length} rows)`);
			const counters = await page.$$eval('#sipwall-counters tr:not(.table-titles)', (rows) => rows.length);
			check(counters > 0, `counters per reason are shown (${counters} rows)`);
			check(await page.$('#sipwall-queue-bound') !== null, 'whether the queue is bound is shown');
			await page.screenshot({ path: `${out}/luci-status.png`, fullPage: true });
			// Live: the page polls; a ban added behind its back shows up without a reload.
			if (want.later_ban) {
				await (await fetch(`${base}/harness/run`, { method: 'POST', body: JSON.stringify(['ban', want.later_ban, '--for', '1h']) })).text();
				await page.evaluate(() => window.__poll.tick());
				await page.waitForFunction((ip) => document.querySelector('#sipwall-bans').textContent.includes(ip), want.later_ban, { timeout: 10000 }).catch(() => {});
				check((await page.textContent('#sipwall-bans')).includes(want.later_ban), `a new ban (${want.later_ban}) appears by polling`);
			}
			// Unban from the page, through the ACL'd exec.
			const ip = (want.bans || [])[0];
			if (ip) {
				await page.click(`#sipwall-bans button[data-ip="${ip}"]`);
				await page.waitForFunction((x) => !document.querySelector(`#sipwall-bans button[data-ip="${x}"]`), ip, { timeout: 10000 }).catch(() => {});
				check(await page.$(`#sipwall-bans button[data-ip="${ip}"]`) === null, `Unban removes ${ip} from the table`);
				await page.evaluate(() => window.__poll.tick());
				check(!(await page.textContent('#sipwall-bans')).includes(ip), `after the next poll the daemon no longer lists ${ip}`);
			}
			// Least privilege: the page cannot run anything else through rpcd. (The refused
			// requests log console errors by design; they are not the view's.)
			const errorsBefore = consoleErrors.length;
			const denied = await page.evaluate(() => fetch('/ubus/file/exec', { method: 'POST', body: JSON.stringify({ command: '/usr/sbin/sipwall', params: ['ban', '192.0.2.1'] }) }).then((r) => r.status));
			check(denied === 403, `the ACL refuses 'sipwall ban' from the browser (HTTP ${denied})`);
			const denied2 = await page.evaluate(() => fetch('/ubus/file/exec', { method: 'POST', body: JSON.stringify({ command: '/bin/sh', params: ['-c', 'id'] }) }).then((r) => r.status));
			check(denied2 === 403, `the ACL refuses /bin/sh (HTTP ${denied2})`);
			consoleErrors.splice(errorsBefore);
		}
	}
	check(consoleErrors.length === 0, `no JavaScript errors (${consoleErrors.join(' | ') || 'none'})`);
} catch (e) {
	check(false, `driver error: ${e && e.stack || e}`);
	await page.screenshot({ path: `${out}/luci-${scenario}-error.png`, fullPage: true }).catch(() => {});
}
await browser.close();
process.exit(failed);
