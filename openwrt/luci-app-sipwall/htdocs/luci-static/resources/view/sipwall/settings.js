'use strict';
'require view';
'require form';
'require fs';
'require uci';
'require ui';

/*
 * sipwall settings: one form.Map over /etc/config/sipwall with a section for every section type
 * the daemon knows. Datatypes, defaults, choices and help are not written here: they come from
 * the daemon itself (`sipwall check-config --schema`), so the browser refuses exactly what the
 * daemon would refuse and a new daemon option cannot silently drift from the page. This file only
 * decides layout and wording.
 */

var SIPWALL = '/usr/sbin/sipwall';

/* Client-side checks for the daemon's own value kinds that LuCI has no datatype for. */
var DURATION_UNITS = { '': 1, 's': 1, 'm': 60, 'h': 3600, 'd': 86400 };

function fmtSecs(n) {
	if (n % 86400 == 0) return (n / 86400) + 'd';
	if (n % 3600 == 0) return (n / 3600) + 'h';
	if (n % 60 == 0) return (n / 60) + 'm';
	return n + 's';
}

function checkDuration(spec, v) {
	var m = String(v).toLowerCase().match(/^(\d+)([smhd]?)$/);
	if (spec.forever && String(v).toLowerCase() == 'forever')
		return true;
	var secs = m ? parseInt(m[1], 10) * DURATION_UNITS[m[2]] : NaN;
	if (!m || secs < spec.min || secs > spec.max)
		return _('Expecting a duration between %s and %s (seconds, or with a unit s/m/h/d such as 90m or 1h)%s')
			.format(fmtSecs(spec.min), fmtSecs(spec.max), spec.forever ? _(' or "forever"') : '');
	return true;
}

var KIND_CHECKS = {
	duration: checkDuration,
	/* LuCI's hostname also takes '_'; the daemon wants RFC 1123 names only. */
	hostname: function(spec, v) {
		return String(v).replace(/\.$/, '').split('.').every(function(l) { return /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(l); })
			? true : _('Expecting a host name of letters, digits, "-" and dots, e.g. sip.example.org');
	},
	country: function(spec, v) {
		return /^[A-Za-z]{2}$/.test(v) ? true : _('Expecting a two-letter country code such as cn or ru');
	},
	cron: function(spec, v) {
		var f = String(v).trim().split(/\s+/), names = [[], [], [],
			['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'],
			['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat']],
		    lo = [0, 0, 1, 1, 0], hi = [59, 23, 31, 12, 7];
		var ok = f.length == 5 && f.every(function(field, i) {
			if (i == 0 && field == '@random')
				return true;
			var val = function(x) {
				if (/^\d+$/.test(x))
					return (+x >= lo[i] && +x <= hi[i]) ? +x : null;
				var p = names[i].indexOf(x.toLowerCase());
				return p < 0 ? null : p + (i == 3 ? 1 : 0);
			};
			return field.split(',').every(function(item) {
				var rs = item.split('/'), range = rs[0], step = rs[1];
				if (rs.length > 2 || (step != null && !(/^\d+$/.test(step) && +step >= 1 && +step <= Math.max(hi[i], 1))))
					return false;
				if (range == '*')
					return true;
				var ab = range.split('-');
				if (ab.length == 2)
					return val(ab[0]) != null && val(ab[1]) != null && val(ab[0]) <= val(ab[1]);
				return ab.length == 1 && val(range) != null;
			});
		});
		return ok ? true : _('Expecting a cron schedule of 5 fields (minute hour day month weekday), e.g. "17 4 * * *"');
	},
	url: function(spec, v) {
		return (/^https?:\/\/\S+$/.test(v) && v.indexOf('{cc}') >= 0)
			? true : _('Expecting an http(s) URL containing {cc}');
	},
	path: function(spec, v) {
		return (v.charAt(0) == '/' && v.split('/').indexOf('..') < 0)
			? true : _('Expecting an absolute path');
	},
	secret: function(spec, v) {
		if (!/^[!#-&(-;=?-\[\]-_a-~]{6,64}$/.test(v))
			return _('Expecting 6 to 64 characters a phone can send: no spaces, quotes, backslash, < or >');
		var l = v.toLowerCase(), same = true, up = true, down = true;
		for (var i = 1; i < l.length; i++) {
			same = same && l.charCodeAt(i) == l.charCodeAt(0);
			up = up && l.charCodeAt(i) == l.charCodeAt(i - 1) + 1;
			down = down && l.charCodeAt(i) + 1 == l.charCodeAt(i - 1);
		}
		var common = ['password', 'secret', 'qwerty', 'qwertz', 'azerty', 'letmein', 'sipwall', 'knockknock', 'changeme']
			.some(function(c) { return l.indexOf(c) == 0 && l.length <= c.length + 2; });
		return (same || up || down || common)
			? _('This secret is trivial to guess (repeated, sequential or common): use at least 6 mixed characters') : true;
	},
	signature: function(spec, v) {
		return /^[ -~]{3,64}$/.test(v) ? true : _('Expecting 3 to 64 printable characters');
	}
};

return view.extend({
	load: function() {
		return Promise.all([
			L.resolveDefault(fs.exec(SIPWALL, ['check-config', '--schema']), null),
			uci.load('sipwall')
		]);
	},

	/* The schema as { sectiontype: { option: spec } }; empty when the daemon could not answer. */
	indexSchema: function(res) {
		var idx = {};
		try {
			JSON.parse(res.stdout).sections.forEach(function(s) {
				idx[s.type] = { _section: s };
				s.options.forEach(function(o) { idx[s.type][o.name] = o; });
			});
		} catch (e) {
			idx = null;
		}
		return idx;
	},

	/* Adds option `name` of section type `type` with everything the daemon says about it. */
	opt: function(s, cls, type, name, title, tab) {
		var spec = this.schema && this.schema[type] ? this.schema[type][name] : null,
		    o = tab ? s.taboption(tab, cls, name, title) : s.option(cls, name, title);

		if (this.schema && !spec) {
			this.unknown.push(type + '.' + name);
			return o;
		}
		if (!spec)
			return o;

		o.description = spec.help;
		if (spec.type == 'bool') {
			o.default = spec['default'] || '0';
			o.rmempty = false;
			return o;
		}
		if (spec.values) {
			spec.values.forEach(function(v) { o.value(v); });
			if (!spec.list)
				o.default = spec['default'];
		}
		if (spec.datatype && spec.datatype != 'string' && !spec.values)
			o.datatype = spec.datatype;
		if (spec.type == 'uinteger')
			o.datatype = 'and(uinteger,range(%d,%d))'.format(spec.min, spec.max);
		/* LuCI's port takes 0; the daemon does not. */
		if (spec.type == 'port')
			o.datatype = 'range(1,65535)';
		if (KIND_CHECKS[spec.type])
			o.validate = function(section_id, value) {
				if (value == null || value === '')
					return true;
				return KIND_CHECKS[spec.type](spec, value);
			};
		if (Array.isArray(spec['default']) && spec['default'].length && !spec.values)
			o.placeholder = spec['default'][0];
		else if (spec['default'] != null && !spec.values)
			o.placeholder = spec['default'];
		if (spec.required) {
			o.rmempty = false;
			o.optional = false;
		}
		return o;
	},

	/* A section type that may exist once: shown anonymous, addable only while missing. */
	unique: function(m, type, title, desc) {
		var s = m.section(form.TypedSection, type, title, desc);
		s.anonymous = true;
		s.addremove = uci.sections('sipwall', type).length == 0;
		return s;
	},

	render: function(data) {
		var m, s, o;

		this.schema = this.indexSchema(data[0]);
		this.unknown = [];

		m = new form.Map('sipwall', _('sipwall'),
			_('A firewall for a SIP PBX: only requests for a secret domain, phones that knock with a secret, and phones that registered successfully reach it; failed logins are banned in the kernel.'));

		/* global */
		s = this.unique(m, 'sipwall', _('General'));
		s.tab('general', _('General'));
		s.tab('ports', _('Ports and queue'));
		s.tab('advanced', _('Advanced'));
		o = this.opt(s, form.Flag, 'sipwall', 'enabled', _('Enabled'), 'general');
		/* As the daemon: on without a domain or a knock would drop every SIP request. */
		o.validate = L.bind(function(m, section_id, value) {
			if (value != '1')
				return true;
			var has = function(type, opt) {
				var sec = m.children.filter(function(x) { return x.sectiontype == type; })[0];
				return sec && sec.cfgsections().some(function(sid) { return !!sec.formvalue(sid, opt); });
			};
			return (has('domain', 'host') || has('knock', 'secret'))
				? true : _('Set a secret domain or a knock before enabling sipwall: without either it would drop every SIP request');
		}, o, m);
		this.opt(s, form.ListValue, 'sipwall', 'mode', _('Mode'), 'general');
		this.opt(s, form.ListValue, 'sipwall', 'backend', _('Firewall backend'), 'general');
		this.opt(s, form.Flag, 'sipwall', 'monitor', _('Monitor only'), 'general');
		this.opt(s, form.Flag, 'sipwall', 'fail_open', _('Fail open'), 'general');
		this.opt(s, form.DynamicList, 'sipwall', 'udp_port', _('SIP UDP ports'), 'ports');
		this.opt(s, form.DynamicList, 'sipwall', 'tcp_port', _('SIP TCP ports'), 'ports');
		this.opt(s, form.DynamicList, 'sipwall', 'tls_port', _('SIP TLS ports'), 'ports');
		this.opt(s, form.Value, 'sipwall', 'queue', _('Queue number'), 'ports');
		this.opt(s, form.Value, 'sipwall', 'queue_maxlen', _('Queue length'), 'ports');
		this.opt(s, form.DynamicList, 'sipwall', 'lan', _('Local networks'), 'advanced');
		this.opt(s, form.Value, 'sipwall', 'state_dir', _('State directory'), 'advanced');
		this.opt(s, form.Value, 'sipwall', 'run_dir', _('Runtime directory'), 'advanced');
		this.opt(s, form.ListValue, 'sipwall', 'log_level', _('Log level'), 'advanced');
		o = s.children.filter(function(c) { return c.option == 'log_level'; })[0];
		if (o && !o.keylist.length) {
			o.value('0', _('Quiet'));
			o.value('1', _('Normal'));
			o.value('2', _('Debug'));
		}

		/* domains */
		s = m.section(form.TableSection, 'domain', _('Secret domains'),
			_('Requests whose Request-URI (for REGISTER also To) names one of these domains pass; requests to the bare IP address are dropped.'));
		s.anonymous = true;
		s.addremove = true;
		this.opt(s, form.Value, 'domain', 'host', _('Domain'));

		/* knocks */
		s = m.section(form.GridSection, 'knock', _('Knocks'),
			_('A secret in the From display name, the User-Agent or the Contact +sip.instance opens a door for the sender for a while.'));
		s.anonymous = false;
		s.addremove = true;
		s.nodescriptions = true;
		this.opt(s, form.Value, 'knock', 'secret', _('Secret')).password = true;
		this.opt(s, form.MultiValue, 'knock', 'look_in', _('Look in'));
		this.opt(s, form.Value, 'knock', 'door_time', _('Door open for'));

		/* allow / block */
		s = m.section(form.TableSection, 'allow', _('Always allowed'),
			_('Sources that always pass and are never banned: an address, a network, or a dynamic DNS name.'));
		s.anonymous = true;
		s.addremove = true;
		this.opt(s, form.Value, 'allow', 'source', _('Source'));

		s = m.section(form.TableSection, 'block', _('Always blocked'),
			_('Sources that never reach SIP.'));
		s.anonymous = true;
		s.addremove = true;
		this.opt(s, form.Value, 'block', 'source', _('Source'));

		/* ban tiers */
		s = m.section(form.TableSection, 'ban_tier', _('Ban tiers'),
			_('Failed logins within a window ban the source. Without any tier: 2 in 1h ban for 1h, 12 in 24h ban until unbanned.'));
		s.anonymous = true;
		s.addremove = true;
		o = this.opt(s, form.Value, 'ban_tier', 'failures', _('Failures'));
		/* The daemon wants tiers from the mildest to the strictest; say so before saving. */
		o.validate = L.bind(function(check, section_id, value) {
			var r = check ? check.call(this, section_id, value) : true,
			    sids = this.section.cfgsections(),
			    i = sids.indexOf(section_id),
			    prev = i > 0 ? parseInt(this.section.formvalue(sids[i - 1], 'failures'), 10) : NaN;
			if (r === true && !isNaN(prev) && parseInt(value, 10) <= prev)
				return _('Expecting more failures than the tier above (%d): list tiers from the mildest to the strictest').format(prev);
			return r;
		}, o, o.validate);
		this.opt(s, form.Value, 'ban_tier', 'window', _('Within'));
		this.opt(s, form.Value, 'ban_tier', 'ban_time', _('Ban for'));

		/* scanners */
		s = this.unique(m, 'scanners', _('Scanners'),
			_('Requests whose User-Agent or From display name contains a scanner signature are banned on sight.'));
		this.opt(s, form.Flag, 'scanners', 'builtin', _('Built-in signatures'));
		this.opt(s, form.DynamicList, 'scanners', 'signature', _('Extra signatures'));
		this.opt(s, form.Value, 'scanners', 'ban_time', _('Ban for'));

		/* rate limit */
		s = this.unique(m, 'ratelimit', _('Rate limit'),
			_('Requests per source; a source that keeps being dropped is banned for a short time so the kernel absorbs its flood.'));
		this.opt(s, form.Value, 'ratelimit', 'rate', _('Requests per second'));
		o = this.opt(s, form.Value, 'ratelimit', 'burst', _('Burst'));
		o.validate = L.bind(function(check, section_id, value) {
			var r = check ? check.call(this, section_id, value) : true,
			    rate = parseInt(this.section.formvalue(section_id, 'rate') || '20', 10);
			if (r === true && value !== '' && value != null && parseInt(value, 10) < rate)
				return _('Expecting a burst of at least the rate (%d), or a phone\'s normal second would be cut').format(rate);
			return r;
		}, o, o.validate);
		this.opt(s, form.Value, 'ratelimit', 'drops_before_ban', _('Drops before ban'));
		this.opt(s, form.Value, 'ratelimit', 'drop_window', _('Drop window'));
		this.opt(s, form.Value, 'ratelimit', 'flood_ban_time', _('Flood ban for'));

		/* countries */
		s = this.unique(m, 'geo', _('Countries'),
			_('Block SIP from listed countries, or allow it only from them. Zones are refreshed on a schedule and kept across reboots.'));
		o = this.opt(s, form.Flag, 'geo', 'enabled', _('Enabled'));
		o.validate = function(section_id, value) {
			var c = this.section.formvalue(section_id, 'country');
			return (value != '1' || (c && c.length)) ? true : _('List at least one country before enabling country zones');
		};
		this.opt(s, form.ListValue, 'geo', 'mode', _('Mode'));
		this.opt(s, form.DynamicList, 'geo', 'country', _('Countries'));
		this.opt(s, form.ListValue, 'geo', 'family', _('Address families'));
		this.opt(s, form.Value, 'geo', 'schedule', _('Refresh schedule'));
		this.opt(s, form.Value, 'geo', 'ipv4_url', _('IPv4 source'));
		this.opt(s, form.Value, 'geo', 'ipv6_url', _('IPv6 source'));
		this.opt(s, form.Value, 'geo', 'fallback_ipv4_url', _('IPv4 fallback'));
		this.opt(s, form.Value, 'geo', 'fallback_ipv6_url', _('IPv6 fallback'));

		/* table sizes */
		s = this.unique(m, 'limits', _('Limits'),
			_('Table sizes: memory stays fixed whatever an attacker sends.'));
		this.opt(s, form.Value, 'limits', 'doors', _('Open doors'));
		this.opt(s, form.Value, 'limits', 'bans', _('Banned sources'));
		this.opt(s, form.Value, 'limits', 'sources', _('Tracked sources'));
		this.opt(s, form.Value, 'limits', 'pending_auth', _('Pending logins'));

		if (!this.schema)
			ui.addNotification(null, E('p', _('Could not read the option schema from sipwall (%s check-config --schema); values are not checked before saving.').format(SIPWALL)), 'warning');
		else if (this.unknown.length)
			ui.addNotification(null, E('p', _('This page and the installed sipwall disagree on options: %s. Update luci-app-sipwall.').format(this.unknown.join(', '))), 'danger');

		return m.render();
	}
});
