/* node page: filled in below. */ LE.page('node', { title: 'node', nav: true, render: function (el) { el.appendChild(LE.h('p', {}, 'Coming.')); } });
