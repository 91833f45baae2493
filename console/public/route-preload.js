// The chunks of the route this document was opened on (plugins/routePreload.ts writes the lists
// into index.html), fetched beside the entry instead of after it has run. A module without imports,
// loaded async: it runs as soon as it arrives, whatever the entry is doing.
;(function () {
  var token = null
  try {
    token = sessionStorage.getItem('qunyun.staff.token')
  } catch (e) {
    // storage refused: a signed-out visit
  }
  var path = location.pathname.replace(/\/+$/, '') || '/'
  var lists = document.querySelectorAll('meta[name="qunyun-preload"]')
  for (var i = 0; i < lists.length; i++) {
    var list = lists[i]
    if ((' ' + list.getAttribute('data-paths') + ' ').indexOf(' ' + path + ' ') < 0) continue
    if (list.getAttribute('data-signed-in') === 'true' && !token) continue
    var files = (list.getAttribute('content') || '').split(' ')
    for (var j = 0; j < files.length; j++) {
      if (!files[j]) continue
      var link = document.createElement('link')
      var css = /\.css$/.test(files[j])
      link.rel = css ? 'preload' : 'modulepreload'
      if (css) link.as = 'style'
      // The credentials mode of Vite's own links and imports, or the preloaded file is not reused.
      link.crossOrigin = ''
      // Behind the entry's files and, once the router asks for them, the figures' requests: Chromium sends
      // six at a time per origin, and a busy gateway then answered the requests after these files.
      link.fetchPriority = 'low'
      link.href = files[j]
      document.head.appendChild(link)
    }
  }
})()
