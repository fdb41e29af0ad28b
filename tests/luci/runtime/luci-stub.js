/*
 * A minimal stand-in for LuCI's client runtime (luci.js, form.js, uci.js, fs.js, poll.js, ui.js,
 * dom.js, view.js), just enough to load sipwall's views unchanged and drive them from a browser
 * test. Same module loading as LuCI ('require x' lines become function arguments), same rpc
 * objects (uci get/save, file exec) answered by tests/luci/harness.py, same validation datatype
 * names. Rendering is plain HTML with stable ids (cbid.<config>.<section>.<option>) for the test.
 */
'use strict';

(function() {
	/* ---- luci.js basics ---- */
	String.prototype.format = function() {
		var args = arguments, i = 0;
		return this.replace(/%([sd%])/g, function(m, t) {
			if (t == '%') return '%';
			var v = args[i++];
			return t == 'd' ? String(parseInt(v, 10)) : String(v);
		});
	};

	function E(tag, attrs, children) {
		/* E([nodes...], children): a fragment of both, as LuCI's dom.create does it */
		if (Array.isArray(tag)) { var f = document.createDocumentFragment(); tag.forEach(function(c) { append(f, c); }); append(f, children != null ? children : attrs); return f; }
		if (attrs != null && (typeof attrs != 'object' || Array.isArray(attrs) || attrs instanceof Node)) { children = attrs; attrs = {}; }
		var el = document.createElement(tag);
		Object.keys(attrs || {}).forEach(function(k) {
			var v = attrs[k];
			if (v == null) return;
			if (typeof v == 'function') el.addEventListener(k, v);
			else el.setAttribute(k, v);
		});
		append(el, children);
		return el;
	}
	function append(el, c) {
		if (c == null) return;
		if (Array.isArray(c)) c.forEach(function(x) { append(el, x); });
		else if (c instanceof Node) el.appendChild(c);
		else el.appendChild(document.createTextNode(String(c)));
	}

	function Class() {}
	Class.extend = function(props) {
		var parent = this;
		function C() { if (this.__init__) this.__init__.apply(this, arguments); }
		C.prototype = Object.create(parent.prototype);
		Object.keys(props).forEach(function(k) { C.prototype[k] = props[k]; });
		C.prototype.constructor = C;
		C.extend = Class.extend;
		return C;
	}

	function rpc(path, body) {
		return fetch(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })
			.then(function(r) {
				return r.json().then(function(j) {
					if (r.status == 403) { var e = new Error('Permission denied: ' + (j.error || '')); e.name = 'PermissionError'; throw e; }
					if (!r.ok) throw new Error(j.error || ('HTTP ' + r.status));
					return j;
				});
			});
	}

	var L = {
		env: { pollinterval: 5 },
		bind: function(fn, self) { var a = Array.prototype.slice.call(arguments, 2); return function() { return fn.apply(self, a.concat(Array.prototype.slice.call(arguments))); }; },
		resolveDefault: function(p, d) { return Promise.resolve(p).catch(function() { return d; }); },
		isObject: function(v) { return v != null && typeof v == 'object'; },
		toArray: function(v) { return v == null ? [] : Array.isArray(v) ? v : String(v).split(/\s+/).filter(Boolean); },
		Class: Class
	};
	window.L = L;
	window.E = E;
	window._ = function(s) { return s; };
	window.N_ = function(n, s, p) { return n == 1 ? s : p; };

	/* ---- dom.js ---- */
	var dom = {
		content: function(node, children) { while (node.firstChild) node.removeChild(node.firstChild); append(node, children); return node; },
		append: function(node, children) { append(node, children); return node; }
	};

	/* ---- ui.js ---- */
	var ui = {
		addNotification: function(title, children, cls) {
			var box = document.getElementById('notifications');
			var n = E('div', { 'class': 'alert-message ' + (cls || ''), 'data-kind': cls || '' }, [title ? E('h4', title) : null, children]);
			box.appendChild(n);
			return n;
		},
		createHandlerFn: function(self, fn) {
			var args = Array.prototype.slice.call(arguments, 2);
			var f = typeof fn == 'string' ? self[fn] : fn;
			return function(ev) { return f.apply(self, args.concat([ev])); };
		},
		showModal: function(title, children) { return ui.addNotification(title, children, 'modal'); },
		hideModal: function() {}
	};

	/* ---- poll.js ---- */
	var poll = {
		queue: [],
		add: function(fn, interval) {
			var entry = { fn: fn, interval: (interval > 0 ? interval : L.env.pollinterval) };
			poll.queue.push(entry);
			entry.timer = setInterval(function() { Promise.resolve(fn()).catch(function() {}); }, entry.interval * 1000);
			return true;
		},
		/* test hook: run every poll function now */
		tick: function() { return Promise.all(poll.queue.map(function(e) { return e.fn(); })); }
	};
	window.__poll = poll;

	/* ---- fs.js (rpcd "file" object) ---- */
	var fs = {
		exec: function(command, params, env) {
			return rpc('/ubus/file/exec', { command: command, params: params || [], env: env });
		},
		exec_direct: function(command, params) {
			return fs.exec(command, params).then(function(r) { return r.stdout; });
		}
	};

	/* ---- uci.js ---- */
	var uci = {
		state: {},
		load: function(conf) {
			return rpc('/ubus/uci/get', { config: conf }).then(function(r) { uci.state[conf] = r.values; return [conf]; });
		},
		sections: function(conf, type, cb) {
			var v = uci.state[conf] || {};
			var out = Object.keys(v).map(function(k) { return v[k]; })
				.filter(function(s) { return !type || s['.type'] == type; })
				.sort(function(a, b) { return a['.index'] - b['.index']; });
			if (cb) out.forEach(function(s) { cb.call(this, s, s['.name']); });
			return out;
		},
		get: function(conf, sid, opt) {
			var s = (uci.state[conf] || {})[sid];
			if (!s) return null;
			return opt == null ? s : (s[opt] != null ? s[opt] : null);
		},
		set: function(conf, sid, opt, val) {
			var s = (uci.state[conf] || {})[sid];
			if (!s) return;
			if (val == null || val === '' || (Array.isArray(val) && !val.length)) delete s[opt];
			else s[opt] = val;
		},
		unset: function(conf, sid, opt) { uci.set(conf, sid, opt, null); },
		add: function(conf, type, name) {
			var v = uci.state[conf] = uci.state[conf] || {};
			var idx = Object.keys(v).length ? Math.max.apply(null, Object.keys(v).map(function(k) { return v[k]['.index']; })) + 1 : 0;
			var sid = name || ('new' + idx.toString(16) + Math.floor(Math.random() * 65536).toString(16));
			v[sid] = { '.type': type, '.name': sid, '.anonymous': !name, '.index': idx };
			return sid;
		},
		remove: function(conf, sid) { delete (uci.state[conf] || {})[sid]; },
		save: function() {
			return Promise.all(Object.keys(uci.state).map(function(conf) {
				return rpc('/ubus/uci/save', { config: conf, values: uci.state[conf] });
			}));
		},
		apply: function() { return Promise.resolve(); }
	};

	/* ---- validation (LuCI datatype names) ---- */
	function ip4(v) { var m = v.match(/^(\d+)\.(\d+)\.(\d+)\.(\d+)$/); return !!m && m.slice(1).every(function(x) { return +x <= 255 && String(+x) == x; }); }
	function ip6(v) {
		if (!/^[0-9a-fA-F:.]+$/.test(v) || v.split('::').length > 2) return false;
		var parts = v.split(':'), n = 0;
		for (var i = 0; i < parts.length; i++) {
			if (parts[i] === '') continue;
			if (i == parts.length - 1 && parts[i].indexOf('.') >= 0) { if (!ip4(parts[i])) return false; n += 2; continue; }
			if (!/^[0-9a-fA-F]{1,4}$/.test(parts[i])) return false;
			n++;
		}
		return v.indexOf('::') >= 0 ? n < 8 : n == 8;
	}
	function cidrOf(v, ipf, max) { var p = v.split('/'); return p.length == 2 && ipf(p[0]) && /^\d+$/.test(p[1]) && +p[1] <= max; }
	var types = {
		string: function() { return true; },
		bool: function(v) { return /^(0|1|yes|no|on|off|true|false)$/.test(v); },
		uinteger: function(v) { return /^\d+$/.test(v); },
		integer: function(v) { return /^-?\d+$/.test(v); },
		port: function(v) { return /^\d+$/.test(v) && +v <= 65535; },
		range: function(v, a, b) { return /^-?\d+$/.test(v) && +v >= +a && +v <= +b; },
		min: function(v, a) { return !isNaN(+v) && +v >= +a; },
		max: function(v, a) { return !isNaN(+v) && +v <= +a; },
		rangelength: function(v, a, b) { return v.length >= +a && v.length <= +b; },
		minlength: function(v, a) { return v.length >= +a; },
		maxlength: function(v, a) { return v.length <= +a; },
		ip4addr: ip4, ip6addr: ip6,
		ipaddr: function(v) { return ip4(v) || ip6(v); },
		cidr4: function(v) { return cidrOf(v, ip4, 32); },
		cidr6: function(v) { return cidrOf(v, ip6, 128); },
		cidr: function(v) { return cidrOf(v, ip4, 32) || cidrOf(v, ip6, 128); },
		hostname: function(v) {
			return v.length <= 253 && (/^[a-zA-Z0-9_]+$/.test(v) ||
				(/^[a-zA-Z0-9_][a-zA-Z0-9_\-.]*[a-zA-Z0-9]\.?$/.test(v) && /[^0-9.]/.test(v)));
		},
		host: function(v) { return types.hostname(v) || types.ipaddr(v); }
	};
	/* "or(ipaddr,cidr)" -> tree; evaluated like LuCI's validation.js */
	function parseType(s) {
		var m = s.match(/^(\w+)(?:\((.*)\))?$/);
		if (!m) throw new Error('bad datatype ' + s);
		var args = [], depth = 0, cur = '';
		(m[2] || '').split('').forEach(function(ch) {
			if (ch == ',' && depth == 0) { args.push(cur); cur = ''; return; }
			if (ch == '(') depth++;
			if (ch == ')') depth--;
			cur += ch;
		});
		if (cur !== '' || m[2] === '') args.push(cur);
		return { name: m[1], args: args.filter(function(a) { return a !== ''; }) };
	}
	function checkType(dt, v) {
		var t = parseType(dt);
		if (t.name == 'or') return t.args.some(function(a) { return checkType(a, v); });
		if (t.name == 'and') return t.args.every(function(a) { return checkType(a, v); });
		if (t.name == 'not') return !checkType(t.args[0], v);
		if (t.name == 'list') return String(v).split(/\s+/).every(function(x) { return checkType(t.args[0], x); });
		if (!types[t.name]) throw new Error('unknown datatype ' + t.name);
		return types[t.name].apply(null, [String(v)].concat(t.args));
	}
	window.__checkType = checkType;

	/* ---- form.js ---- */
	var AbstractValue = Class.extend({
		__init__: function(map, section, option, title, description) {
			this.map = map; this.section = section; this.option = option;
			this.title = title; this.description = description;
			this.keylist = []; this.vallist = []; this.rmempty = true; this.optional = false;
			this.deps = [];
		},
		value: function(k, v) { this.keylist.push(String(k)); this.vallist.push(v != null ? v : k); },
		depends: function(o, v) { this.deps.push([o, v]); },
		cfgvalue: function(sid) { return uci.get(this.map.config, sid, this.option); },
		id: function(sid) { return 'cbid.' + this.map.config + '.' + sid + '.' + this.option; },
		/* [ok, value-or-message] */
		check: function(sid, val) {
			var vals = Array.isArray(val) ? val : [val];
			for (var i = 0; i < vals.length; i++) {
				var v = vals[i];
				if (v == null || v === '') continue;
				if (this.datatype && !checkType(this.datatype, v))
					return _('Invalid value for %s: %s (expecting %s)').format(this.title, v, this.datatype);
				if (this.validate) {
					var r = this.validate(sid, v);
					if (r !== true) return r;
				}
			}
			if (!this.rmempty && !this.optional && (val == null || val === '' || (Array.isArray(val) && !val.length)))
				return _('%s is required').format(this.title);
			return true;
		},
		write: function(sid, val) { uci.set(this.map.config, sid, this.option, val); },
		row: function(sid, widget) {
			return E('div', { 'class': 'cbi-value', 'data-option': this.option }, [
				E('label', { 'class': 'cbi-value-title', 'for': this.id(sid) }, this.title),
				E('div', { 'class': 'cbi-value-field' }, [widget,
					this.description && !this.section.nodescriptions ? E('div', { 'class': 'cbi-value-description' }, this.description) : null])
			]);
		}
	});
	var Value = AbstractValue.extend({
		widget: function(sid) {
			var v = this.cfgvalue(sid);
			return E('input', { 'type': this.password ? 'password' : 'text', 'id': this.id(sid), 'class': 'cbi-input-text',
				'value': v != null ? v : '', 'placeholder': this.placeholder != null ? this.placeholder : '' });
		},
		formvalue: function(sid) { var el = document.getElementById(this.id(sid)); return el ? el.value.trim() : null; }
	});
	var Flag = AbstractValue.extend({
		widget: function(sid) {
			var v = this.cfgvalue(sid); if (v == null) v = this['default'] || '0';
			var el = E('input', { 'type': 'checkbox', 'id': this.id(sid), 'class': 'cbi-input-checkbox' });
			el.checked = /^(1|yes|on|true)$/.test(v);
			return el;
		},
		formvalue: function(sid) { var el = document.getElementById(this.id(sid)); return el ? (el.checked ? '1' : '0') : null; }
	});
	var ListValue = AbstractValue.extend({
		widget: function(sid) {
			var v = this.cfgvalue(sid); if (v == null) v = this['default'];
			var self = this;
			return E('select', { 'id': this.id(sid), 'class': 'cbi-input-select' }, this.keylist.map(function(k, i) {
				var o = E('option', { 'value': k }, self.vallist[i]); if (k == v) o.setAttribute('selected', 'selected'); return o;
			}));
		},
		formvalue: function(sid) { var el = document.getElementById(this.id(sid)); return el ? el.value : null; }
	});
	var DynamicList = AbstractValue.extend({
		widget: function(sid) {
			var vals = L.toArray(this.cfgvalue(sid)), id = this.id(sid), ph = this.placeholder;
			var box = E('div', { 'id': id, 'class': 'cbi-dynlist' });
			vals.concat(['']).forEach(function(v, i) {
				box.appendChild(E('input', { 'type': 'text', 'class': 'cbi-input-text dynlist-item', 'id': id + '.' + i, 'value': v, 'placeholder': v ? '' : (ph || '') }));
			});
			return box;
		},
		formvalue: function(sid) {
			var el = document.getElementById(this.id(sid)); if (!el) return null;
			return Array.prototype.map.call(el.querySelectorAll('input'), function(i) { return i.value.trim(); }).filter(Boolean);
		}
	});
	var MultiValue = AbstractValue.extend({
		widget: function(sid) {
			var v = L.toArray(this.cfgvalue(sid)), id = this.id(sid), self = this;
			return E('div', { 'id': id, 'class': 'cbi-multivalue' }, this.keylist.map(function(k, i) {
				var cb = E('input', { 'type': 'checkbox', 'value': k, 'id': id + '.' + k }); cb.checked = v.indexOf(k) >= 0;
				return E('label', {}, [cb, ' ', self.vallist[i], ' ']);
			}));
		},
		formvalue: function(sid) {
			var el = document.getElementById(this.id(sid)); if (!el) return null;
			return Array.prototype.filter.call(el.querySelectorAll('input'), function(i) { return i.checked; }).map(function(i) { return i.value; });
		}
	});
	var DummyValue = AbstractValue.extend({
		widget: function(sid) { return E('span', { 'id': this.id(sid) }, this.cfgvalue(sid) || ''); },
		formvalue: function() { return null; }
	});

	var TypedSection = Class.extend({
		__init__: function(map, type, title, description) {
			this.map = map; this.sectiontype = type; this.title = title; this.description = description;
			this.children = []; this.tabs = null; this.anonymous = false; this.addremove = false;
		},
		tab: function(name, title) { this.tabs = this.tabs || []; this.tabs.push([name, title]); },
		option: function(cls, name, title, desc) { var o = new cls(this.map, this, name, title, desc); this.children.push(o); return o; },
		taboption: function(tab, cls, name, title, desc) { var o = this.option(cls, name, title, desc); o.tab = tab; return o; },
		cfgsections: function() { return uci.sections(this.map.config, this.sectiontype).map(function(s) { return s['.name']; }); },
		formvalue: function(sid, opt) {
			var o = this.children.filter(function(c) { return c.option == opt; })[0];
			return o ? o.formvalue(sid) : null;
		},
		render: function() {
			var self = this, sids = this.cfgsections();
			var el = E('fieldset', { 'class': 'cbi-section', 'id': 'cbi-' + this.map.config + '-' + this.sectiontype }, [
				this.title ? E('legend', {}, this.title) : null,
				this.description ? E('div', { 'class': 'cbi-section-descr' }, this.description) : null
			]);
			sids.forEach(function(sid) {
				var node = E('div', { 'class': 'cbi-section-node', 'id': 'cbi-' + self.map.config + '-' + sid, 'data-section': sid }, [
					self.anonymous ? null : E('h4', {}, sid)
				]);
				(self.tabs || [[null, null]]).forEach(function(t) {
					var tabEl = t[0] ? E('div', { 'class': 'cbi-tab', 'data-tab': t[0] }, E('h5', t[1])) : node;
					self.children.filter(function(o) { return !t[0] || o.tab == t[0]; }).forEach(function(o) { tabEl.appendChild(o.row(sid, o.widget(sid))); });
					if (t[0]) node.appendChild(tabEl);
				});
				if (self.addremove)
					node.appendChild(E('button', { 'class': 'cbi-button cbi-button-remove', 'data-remove': sid, 'click': function() {
						uci.remove(self.map.config, sid); return self.map.reset();
					} }, _('Delete')));
				el.appendChild(node);
			});
			if (this.addremove) {
				var name = this.anonymous ? null : E('input', { 'type': 'text', 'class': 'cbi-section-create-name', 'id': 'create.' + this.sectiontype });
				el.appendChild(E('div', { 'class': 'cbi-section-create' }, [name, E('button', {
					'class': 'cbi-button cbi-button-add', 'id': 'add.' + this.sectiontype, 'click': function() {
						self.map.collect(true);
						uci.add(self.map.config, self.sectiontype, name ? name.value.trim() || null : null);
						return self.map.reset();
					} }, _('Add'))]));
			}
			return el;
		}
	});
	var TableSection = TypedSection.extend({});
	var GridSection = TypedSection.extend({});
	var NamedSection = TypedSection.extend({
		__init__: function(map, name, type, title, description) {
			TypedSection.prototype.__init__.call(this, map, type, title, description);
			this.sectionname = name;
		},
		cfgsections: function() { return uci.get(this.map.config, this.sectionname) ? [this.sectionname] : []; }
	});

	var Map = Class.extend({
		__init__: function(config, title, description) { this.config = config; this.title = title; this.description = description; this.children = []; },
		section: function(cls) {
			var args = Array.prototype.slice.call(arguments, 1);
			var s = Object.create(cls.prototype);
			cls.apply(s, [this].concat(args));
			this.children.push(s);
			return s;
		},
		render: function() {
			this.root = E('div', { 'class': 'cbi-map', 'id': 'cbi-' + this.config }, [
				E('h2', {}, this.title), E('div', { 'class': 'cbi-map-descr' }, this.description)]);
			this.body = E('div', {});
			this.root.appendChild(this.body);
			this.fill();
			return Promise.resolve(this.root);
		},
		fill: function() { var b = this.body; while (b.firstChild) b.removeChild(b.firstChild); this.children.forEach(function(s) { b.appendChild(s.render()); }); },
		reset: function() { this.fill(); return Promise.resolve(); },
		/* Reads every widget; returns the list of errors (and writes to uci unless dry). */
		collect: function(keepErrors) {
			var errors = [], self = this;
			this.children.forEach(function(s) {
				s.cfgsections().forEach(function(sid) {
					s.children.forEach(function(o) {
						var v = o.formvalue(sid);
						if (v == null) return;
						var ok = o.check(sid, v);
						var el = document.getElementById(o.id(sid));
						if (ok !== true) { errors.push(ok); if (el) el.classList.add('cbi-input-invalid'); return; }
						if (el) el.classList.remove('cbi-input-invalid');
						if (o instanceof DummyValue) return;
						o.write(sid, v);
					});
				});
			});
			return errors;
		},
		save: function() {
			var errors = this.collect();
			if (errors.length) {
				ui.addNotification(null, E('ul', { 'id': 'save-errors' }, errors.map(function(e) { return E('li', e); })), 'danger');
				return Promise.reject(new Error('validation failed: ' + errors.join('; ')));
			}
			return uci.save();
		}
	});

	var form = { Map: Map, JSONMap: Map, TypedSection: TypedSection, TableSection: TableSection, GridSection: GridSection,
		NamedSection: NamedSection, Value: Value, Flag: Flag, ListValue: ListValue, DynamicList: DynamicList,
		MultiValue: MultiValue, DummyValue: DummyValue, TextValue: Value, HiddenValue: Value };

	/* ---- view.js ---- */
	var view = {
		extend: function(props) {
			var V = function() {};
			V.prototype = Object.assign({
				load: function() { return Promise.resolve(); },
				handleSave: function() {
					return Promise.all((window.__maps || []).map(function(m) { return m.save(); }));
				},
				handleSaveApply: function() { return this.handleSave().then(function() { return uci.apply(); }); },
				handleReset: function() { location.reload(); }
			}, props);
			return V;
		}
	};

	var origRender = Map.prototype.render;
	Map.prototype.render = function() { (window.__maps = window.__maps || []).push(this); return origRender.apply(this, arguments); };

	var modules = { view: view, form: form, uci: uci, fs: fs, poll: poll, ui: ui, dom: dom, rpc: {
		declare: function(d) { return function() { return rpc('/ubus/' + d.object + '/' + d.method, { params: Array.prototype.slice.call(arguments) }); }; } } };

	/* Loads a view file the way LuCI does: its 'require x' lines become arguments of a function. */
	window.loadView = function(path) {
		return fetch('/luci-static/resources/view/' + path + '.js').then(function(r) { return r.text(); }).then(function(src) {
			var names = [], args = [], re = /^\s*'require\s+([\w.]+)(?:\s+as\s+(\w+))?';/mg, m;
			while ((m = re.exec(src)) !== null) {
				if (!modules[m[1]]) throw new Error('view requires a module the harness lacks: ' + m[1]);
				names.push(m[2] || m[1]); args.push(modules[m[1]]);
			}
			var V = Function.apply(null, names.concat([src + '\n//# sourceURL=' + path + '.js']))
				.apply(null, args);
			var v = new V();
			return Promise.resolve(v.load()).then(function(data) { return Promise.resolve(v.render(data)).then(function(node) { return [v, node]; }); });
		});
	};
})();
