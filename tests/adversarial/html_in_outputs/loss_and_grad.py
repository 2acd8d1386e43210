from IPython.display import HTML, Javascript, Markdown, display

display(HTML('<b>my loss</b><script>window.__student_script_ran="output"; fetch("/api/contents")</script>'
             '<img src="http://127.0.0.1:{{PORT}}/output-image.png" onerror="window.__student_script_ran=1">'))
display(Javascript('window.__student_script_ran = "javascript"; fetch("http://127.0.0.1:{{PORT}}/js")'))
display(Markdown('![remote](http://127.0.0.1:{{PORT}}/output-markdown.png) <script>window.__student_script_ran="md"</script>'))


def loss(w):
    return (w - 3) ** 2


def grad(w):
    return 2 * (w - 3)
