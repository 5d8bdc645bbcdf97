// The ticket form's suggestions as the agent types (debounced); the form works without it.
// Served as a file, not inline, so the Content-Security-Policy can forbid inline script.
(function(){
  var f=document.getElementById('ticket-form'),box=document.getElementById('suggestions'),t=null,last='';
  function go(){
    var text=(f.subject.value+' '+f.body.value).trim();
    if(text===last){return;} last=text;
    if(text.length<3){box.innerHTML='';return;}
    fetch('/tickets/suggest?text='+encodeURIComponent(text.slice(0,500)),{credentials:'same-origin'})
      .then(function(r){return r.ok?r.text():'';}).then(function(h){box.innerHTML=h;}).catch(function(){});
  }
  f.addEventListener('input',function(){clearTimeout(t);t=setTimeout(go,300);});
})();
