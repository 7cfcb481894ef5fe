/* domains page: filled in below. */ LE.page('domains', { title: 'domains', nav: true, render: function (el) { el.appendChild(LE.h('p', {}, 'Coming.')); } });
