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

		var q = st.queue || {}, ov = q.overload || {}, dm = st.daemon || {};
		var summary = table([_('State'), _('Mode'), _('Backend'), _('Queues'), _('Queue bound'), _('Overload'), _('Up for')], [[
			st.monitor ? _('monitor only') : _('filtering'),
			String(st.mode || '-'),
			String(st.backend || '-'),
			q.requests_queue != null ? '%d / %d'.format(q.requests_queue, q.answers_queue) : '-',
			E('span', { 'id': 'sipwall-queue-bound' }, q.bound ? _('yes') : _('no')),
			ov.events ? _('%d times, %d requests %s').format(ov.events, ov.lost_requests || 0, ov.lost_requests_were || '') : _('none'),
			fmtAge(st.uptime_secs)
		]], '');
		var warnings = [];
		if (q.bound === false)
			warnings.push(E('p', _('The packet queue is not bound: new SIP requests are %s.').format(st.fail_open ? _('passing uninspected') : _('dropped'))));
		if (dm.last_reload_error)
			warnings.push(E('p', _('The last configuration reload failed, the daemon keeps its previous policy: %s').format(dm.last_reload_error)));
		if (q.last_error)
			warnings.push(E('p', _('Queue error: %s').format(q.last_error)));

		var self = this;
		var bans = table([_('Source'), _('Reason'), _('Since'), _('Expires'), ''],
			list(st.bans).map(function(b) {
				return [
					String(b.ip),
					String(b.cause || b.reason || '-'),
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

		var shown = list(st.bans).length;
		var bansNote = (st.bans_total != null && st.bans_total > shown)
			? E('p', _('Showing %d of %d bans.').format(shown, st.bans_total)) : '';

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
					z.none_published ? _('none published (404 at %s)').format(z.none_published) : String(z.source || '-'),
					String(z.last_error || z.error || '-')];
			}), _('Country zones are off.'));
		zones.id = 'sipwall-zones';

		var tables = ((st.engine || {}).tables) || {};
		var trows = Object.keys(tables).sort().map(function(k) {
			var t = tables[k];
			return [k, '%d / %d'.format(t.len, t.capacity), String(t.evictions || 0), String(t.refused || 0)];
		});

		return E('div', {}, [
			warnings.length ? E('div', { 'class': 'alert-message warning', 'id': 'sipwall-warnings' }, warnings) : '',
			E('div', { 'class': 'cbi-section' }, [summary]),
			E('div', { 'class': 'cbi-section' }, [E('h3', _('Banned sources')), bans, bansNote]),
			E('div', { 'class': 'cbi-section' }, [E('h3', _('Open doors')), doors]),
			E('div', { 'class': 'cbi-section' }, [E('h3', _('Verdicts by reason')), ctable]),
			E('div', { 'class': 'cbi-section' }, [E('h3', _('Country zones')), zones]),
			E('div', { 'class': 'cbi-section' }, [E('h3', _('Tables')),
				table([_('Table'), _('Used / capacity'), _('Evictions'), _('Refused')], trows, '-')])
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
