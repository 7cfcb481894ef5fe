/* stream page: filled in below. */ LE.page('stream', { title: 'stream', nav: true, render: function (el) { el.appendChild(LE.h('p', {}, 'Coming.')); } });
