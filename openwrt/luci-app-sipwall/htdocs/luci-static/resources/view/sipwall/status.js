'use strict';
'require view';
'require fs';
'require poll';
'require ui';
'require dom';

/*
 * sipwall status: what the running daemon says about itself (`sipwall status --json`, read through
 * rpcd's file/exec with an ACL naming exactly that command), refreshed every 5 s: whether the queue
 * is bound, bans with their reason and expiry (each with an unban button), open doors, counters
 * per verdict reason and the country zones. Nothing here is computed; it only shows the daemon's
 * own numbers.
 */

var SIPWALL = '/usr/sbin/sipwall';

function getStatus() {
	return fs.exec(SIPWALL, ['status', '--json']).then(function(res) {
		if (res.code !== 0)
			throw new Error((res.stderr || res.stdout || '').trim() || _('sipwall exited with code %d').format(res.code));
		return JSON.parse(res.stdout);
	});
}

/* Unix seconds (or milliseconds) -> local date; null -> "never". */
function fmtTime(t) {
	if (t == null)
		return _('never');
	var ms = t > 1e12 ? t : t * 1000;
	return new Date(ms).toLocaleString();
}

function fmtAge(secs) {
	if (secs == null)
		return '-';
	secs = Math.round(secs);
	if (secs < 120) return _('%d s').format(secs);
	if (secs < 7200) return _('%d min').format(Math.round(secs / 60));
	if (secs < 172800) return _('%d h').format(Math.round(secs / 3600));
	return _('%d days').format(Math.round(secs / 86400));
}

function table(titles, rows, empty) {
	var t = E('table', { 'class': 'table' }, [
		E('tr', { 'class': 'tr table-titles' }, titles.map(function(h) { return E('th', { 'class': 'th' }, h); }))
	]);
	if (!rows.length)
		t.appendChild(E('tr', { 'class': 'tr placeholder' }, E('td', { 'class': 'td', 'colspan': titles.length }, E('em', empty))));
	rows.forEach(function(r) {
		t.appendChild(E('tr', { 'class': 'tr' }, r.map(function(c) { return E('td', { 'class': 'td' }, c); })));
	});
	return t;
}

function list(v) {
	return Array.isArray(v) ? v : [];
}

return view.extend({
	load: function() {
		return getStatus().catch(function(e) { return { error: e.message }; });
	},

	handleUnban: function(ip, ev) {
		var btn = ev.currentTarget;
		btn.disabled = true;
		return fs.exec(SIPWALL, ['unban', ip]).then(function(res) {
			if (res.code !== 0)
				throw new Error((res.stderr || res.stdout || '').trim());
			ui.addNotification(null, E('p', _('%s is no longer banned.').format(ip)), 'info');
			var row = btn.closest ? btn.closest('tr') : null;
			if (row) row.parentNode.removeChild(row);
		}).catch(function(e) {
			btn.disabled = false;
			ui.addNotification(null, E('p', _('Could not unban %s: %s').format(ip, e.message)), 'danger');
		});
	},

	renderStatus: function(st) {
		if (st.error)
			return E('div', { 'class': 'alert-message warning', 'id': 'sipwall-error' }, [
				E('p', _('sipwall is not running or did not answer: %s').format(st.error)),
				E('p', _('Enable it under Services > sipwall > Settings once a secret domain or a knock is set.'))
			]);

		var q = st.queue || {};
		var summary = table([_('State'), _('Mode'), _('Backend'), _('Queue'), _('Queue bound'), _('Overload drops')], [[
			st.monitor ? _('monitor only') : (st.running === false ? _('stopped') : _('filtering')),
			String(st.mode || '-'),
			String(st.backend || '-'),
			q.number != null ? String(q.number) : '-',
			E('span', { 'id': 'sipwall-queue-bound' }, q.bound ? _('yes') : _('no')),
			String(q.overloads != null ? q.overloads : (q.dropped != null ? q.dropped : '-'))
		]], '');

		var self = this;
		var bans = table([_('Source'), _('Reason'), _('Since'), _('Expires'), ''],
			list(st.bans).map(function(b) {
				return [
					String(b.ip),
					String(b.reason || b.cause || '-'),
					fmtTime(b.since),
					b.until == null ? _('when unbanned') : fmtTime(b.until),
					E('button', {
						'class': 'btn cbi-button cbi-button-remove',
						'data-ip': b.ip,
						'click': ui.createHandlerFn(self, 'handleUnban', String(b.ip))
					}, _('Unban'))
				];
			}), _('No source is banned.'));
		bans.id = 'sipwall-bans';

		var doors = table([_('Source'), _('Opened by'), _('Opened'), _('Closes')],
			list(st.doors).map(function(d) {
				return [String(d.ip), String(d.via || '-'), fmtTime(d.opened), fmtTime(d.until)];
			}), _('No door is open.'));
		doors.id = 'sipwall-doors';

		var counters = st.counters || {};
		var byReason = counters.by_reason || counters;
		var crow = Object.keys(byReason).filter(function(k) { return typeof byReason[k] == 'number'; }).sort()
			.map(function(k) { return [k, String(byReason[k])]; });
		var ctable = table([_('Reason'), _('Packets')], crow, _('No packet judged yet.'));
		ctable.id = 'sipwall-counters';

		var zones = table([_('Zone'), _('Entries'), _('Age'), _('Source'), _('Last error')],
			list(st.zones).map(function(z) {
				return [String(z.country || z.name || '-') + (z.family ? ' (' + z.family + ')' : ''),
					String(z.entries != null ? z.entries : '-'), fmtAge(z.age_secs != null ? z.age_secs : z.age),
					String(z.source || '-'), String(z.last_error || z.error || '-')];
			}), _('Country zones are off.'));
		zones.id = 'sipwall-zones';

		return E('div', {}, [
			E('div', { 'class': 'cbi-section' }, [summary]),
			E('div', { 'class': 'cbi-section' }, [E('h3', _('Banned sources')), bans]),
			E('div', { 'class': 'cbi-section' }, [E('h3', _('Open doors')), doors]),
			E('div', { 'class': 'cbi-section' }, [E('h3', _('Verdicts by reason')), ctable]),
			E('div', { 'class': 'cbi-section' }, [E('h3', _('Country zones')), zones])
		]);
	},

	render: function(st) {
		var box = E('div', { 'id': 'sipwall-status' }, this.renderStatus(st));
		poll.add(L.bind(function() {
			return getStatus().catch(function(e) { return { error: e.message }; }).then(L.bind(function(st) {
				dom.content(box, this.renderStatus(st));
			}, this));
		}, this), 5);
		return E([], [E('h2', _('sipwall')), box]);
	},

	handleSave: null,
	handleSaveApply: null,
	handleReset: null
});
