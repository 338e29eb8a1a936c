// Offers to add the phone's position to the redemption (RESOLVER_CAPTURE_LOCATION): shows the
// "share location" choice, and when the member ticks it, asks the browser (which asks the member)
// and fills the form's hidden lat/lon fields. Without JavaScript, a refusal or an error, the form
// is sent without a position, and the redemption goes ahead all the same.
"use strict";
(function () {
  var box = document.getElementById("locate");
  if (!box || !navigator.geolocation) {
    return;
  }
  var choice = document.getElementById("share-location");
  var lat = document.getElementById("lat");
  var lon = document.getElementById("lon");
  var states = document.querySelectorAll("#locate-status [data-state]");
  function show(state) {
    for (var i = 0; i < states.length; i += 1) {
      states[i].hidden = states[i].getAttribute("data-state") !== state;
    }
  }
  function found(position) {
    if (!choice.checked) {
      return; // unticked while the browser was looking
    }
    lat.value = String(position.coords.latitude);
    lon.value = String(position.coords.longitude);
    show("added");
  }
  function failed() {
    choice.checked = false;
    show("failed");
  }
  choice.addEventListener("change", function () {
    lat.value = "";
    lon.value = "";
    if (!choice.checked) {
      show("");
      return;
    }
    show("busy");
    navigator.geolocation.getCurrentPosition(found, failed, {
      enableHighAccuracy: false,
      timeout: 15000,
      maximumAge: 60000,
    });
  });
  box.hidden = false;
})();
