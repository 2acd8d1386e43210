x = torch.tensor(-3.).requires_grad_()  # start again from -3
xypairs = []
for i in range(10):
    xypairs.append((float(x), float(f(x))))
    print(f"f({x:.2}) = {f(x):.2}")
    x = step(x, f)
