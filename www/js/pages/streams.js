/* streams page: filled in below. */ LE.page('streams', { title: 'streams', nav: true, render: function (el) { el.appendChild(LE.h('p', {}, 'Coming.')); } });
